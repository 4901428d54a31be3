import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { configSecrets, type AppConfig } from '../config/env.js';
import { packageVersion } from '../config/package-root.js';
import { AppError, ConflictError, errorMessage } from '../errors.js';
import { publishModel } from '../jobs/model-channel.js';
import { closeWithConnection, DAILY_RUN_QUEUE, QUEUE_PREFIX, queueConnection, RETRAINING_QUEUE, TRAINING_QUEUE } from '../jobs/queues.js';
import type { TrainingJobData } from '../jobs/training-job.js';
import { preferBackend, tfjsBackend } from '../ml/backend.js';
import type { ModelMetadata } from '../ml/types.js';
import { createAppLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { readOpsConfig } from '../ops/ops-config.js';
import { planRetraining, retrainingSymbols, retrainPolicy } from '../ops/retraining-plan.js';
import { DailyScheduler } from '../server/daily-scheduler.js';
import { createServices, ensureLayout } from '../server/services.js';
import { workerTrainRunner } from '../server/train-runner.js';
import { Tracking } from '../server/tracking.js';
import type { TrackingStore } from '../tracking/store.js';

export interface WorkerRole {
  close(): Promise<void>;
}

/**
 * ROLE=worker: runs the queued jobs (training, the scheduled daily run and retraining policy) that the API replicas
 * put on Redis, no HTTP.
 * Training runs in a worker thread, so this process's event loop keeps renewing the job's lock; if the process dies,
 * the lock lapses, BullMQ's stalled-job check (in whichever worker runs next) puts the job back, and it is run again.
 * Each saved version is announced on the model channel, so every API replica serves it at once.
 */
export async function startWorkerRole(config: AppConfig): Promise<WorkerRole> {
  const redisUrl = config.redisUrl;
  if (redisUrl === undefined) throw new Error('ROLE=worker needs REDIS_URL');
  await ensureLayout(config);
  const appLogger = await createAppLogger({ level: config.logLevel, stdout: true, secrets: configSecrets(config) });
  const logger = appLogger.logger.child({ role: 'worker' });
  // Training runs in worker threads, which load tfjs themselves; here it is imported only if a model needs it.
  preferBackend(config.tfjsBackend);
  const trainRunner = workerTrainRunner(config, logger);
  const services = await createServices({ config, version: packageVersion(), backend: tfjsBackend, metrics: createMetrics(), logger, trainRunner });
  // The daily run forecasts with the served models: load them, and follow new versions like a replica does.
  const loading = services.registry.reload().catch((error: unknown) => logger.error({ err: error }, 'models not loaded'));
  const watch = config.modelWatchIntervalSeconds > 0
    ? setInterval(() => void services.registry.reload().catch((error: unknown) => logger.error({ err: error }, 'model watch failed')), config.modelWatchIntervalSeconds * 1000)
    : undefined;
  watch?.unref();
  const tracking = new Tracking(services, logger);
  void tracking.open();
  const scheduler = new DailyScheduler({ config: config.dailyPrediction, tracking, logger });
  const publisher = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  publisher.on('error', (error: Error) => logger.debug({ err: error }, 'model publisher connection error'));

  const trainJob = async (job: Job<TrainingJobData, ModelMetadata>): Promise<ModelMetadata> => {
    const { symbol, overrides } = job.data;
    logger.info({ job_id: job.id, symbol, attempt: job.attemptsMade + 1, stalled: job.stalledCounter }, 'training job started');
    // The newest bars the source can give within its fetch budget (stored ones if it is down).
    const bars = await services.market.getBars(symbol, { fresh: true });
    const metadata = await trainRunner({ symbol, overrides, series: [{ symbol, bars }], dataSource: services.market.name }, (progress) => {
      job.updateProgress(progress).catch((error: unknown) => logger.debug({ err: error }, 'progress not stored'));
    });
    // Saved and current on the shared volume; replicas that miss the message pick it up at their model watch.
    const heard = await publishModel(publisher, { key: metadata.key, version: metadata.version, symbols: metadata.symbols }).catch((error: unknown) => {
      logger.warn({ err: errorMessage(error) }, 'model publication failed; replicas load the version at their model watch');
      return 0;
    });
    logger.info({ job_id: job.id, symbol, version: metadata.version, beats_naive: metadata.beats_naive, replicas_told: heard }, 'training job succeeded');
    return metadata;
  };
  const train = async (job: Job<TrainingJobData, ModelMetadata>): Promise<ModelMetadata> => {
    try {
      return await trainJob(job);
    } catch (error) {
      // What the data cannot satisfy (unknown symbol, too little history) fails alike on every try: no retries.
      if (error instanceof AppError && error.status < 500) throw new UnrecoverableError(error.message);
      throw error;
    }
  };
  const dailyRun = async (job: Job<Record<string, never>, string>): Promise<string> => {
    logger.info({ job_id: job.id }, 'daily run job started');
    await loading;
    const run = await scheduler.tick();
    return run === undefined ? 'not run (market closed, already done, or tracking unavailable)' : `${run.status}: ${run.recorded_forecasts} forecasts`;
  };

  const retraining = async (job: Job<Record<string, never>, string>): Promise<string> => {
    logger.info({ job_id: job.id }, 'retraining policy job started');
    const ops = await readOpsConfig(config.layout.config);
    const symbols = await retrainingSymbols(ops.symbols, services.market, services.store);
    let trackingStore: TrackingStore | undefined;
    try {
      trackingStore = tracking.store();
    } catch {
      // Without the tracking database the policy still looks at age and new bars; only the skill trigger waits.
      trackingStore = undefined;
    }
    const decisions = await planRetraining({ store: services.store, market: services.market, symbols, tracking: trackingStore, policy: retrainPolicy(ops.retraining) });
    const queued: string[] = [];
    for (const decision of decisions.filter((d) => d.retrain)) {
      try {
        // On the training queue like an API request: deduplicated per symbol, retried, published when saved.
        await services.jobs.start(decision.symbol, {});
        queued.push(decision.symbol);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    logger.info({ job_id: job.id, decisions, queued }, 'retraining policy applied');
    return queued.length === 0 ? 'every model is up to date' : `training queued for ${queued.join(' ')}`;
  };

  const { jobs } = config;
  const workerOptions = {
    prefix: QUEUE_PREFIX,
    concurrency: 1,
    lockDuration: jobs.lockDurationMs,
    stalledInterval: jobs.stalledIntervalMs,
    // A job whose worker died is put back this many times before it fails for good.
    maxStalledCount: jobs.attempts,
  };
  const startWorker = <D, R>(name: string, processor: (job: Job<D, R>) => Promise<R>): { readonly name: string; close(): Promise<void> } => {
    const connection = queueConnection(redisUrl, 'worker');
    const worker = new Worker<D, R>(name, processor, { ...workerOptions, connection });
    worker.on('error', (error) => logger.warn({ err: errorMessage(error), queue: name }, 'job queue connection error'));
    worker.on('failed', (job, error) => logger.error({ job_id: job?.id, queue: name, attempts: job?.attemptsMade, err: error }, 'job failed'));
    worker.on('stalled', (jobId) => logger.warn({ job_id: jobId, queue: name }, 'job stalled (its worker stopped); put back in the queue'));
    // Lets the running job finish (or, past SHUTDOWN_TIMEOUT, be killed and retried from its lapsed lock).
    return { name, close: () => closeWithConnection(worker, connection, config.shutdownTimeoutSeconds * 1000) };
  };
  const workers = [startWorker(TRAINING_QUEUE, train), startWorker(DAILY_RUN_QUEUE, dailyRun), startWorker(RETRAINING_QUEUE, retraining)];
  logger.info({ queues: workers.map((w) => w.name), ...jobs }, 'worker started');

  return {
    close: async () => {
      clearInterval(watch);
      await Promise.all(workers.map((w) => w.close()));
      await scheduler.stop();
      await tracking.close();
      await services.close();
      publisher.disconnect();
      logger.info('worker stopped');
      await appLogger.close();
    },
  };
}
