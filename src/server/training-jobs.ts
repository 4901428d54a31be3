import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ConflictError, errorMessage } from '../errors.js';
import type { MarketDataProvider } from '../market/provider.js';
import type { SeriesInput } from '../ml/dataset.js';
import type { ModelMetadata, TrainingConfig, TrainingProgress } from '../ml/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { JobStatus, TrainingJobQueue, TrainingJobView } from '../jobs/training-job.js';

export interface TrainRequest {
  readonly symbol: string;
  readonly overrides: Partial<TrainingConfig>;
  /** The symbol's bars as the service's market-data provider gives them (the bars it serves from). */
  readonly series: readonly SeriesInput[];
  /** The provider's name, recorded in the model's metadata. */
  readonly dataSource: string;
}

/** Trains one model off the request path (a worker thread) and resolves with the saved version's metadata. */
export type TrainRunner = (request: TrainRequest, onProgress: (progress: TrainingProgress) => void) => Promise<ModelMetadata>;

/** An in-process job: the view the API reports, updated as the job runs. */
export interface Job extends TrainingJobView {
  readonly overrides: Partial<TrainingConfig>;
  status: JobStatus;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  progress: TrainingProgress | undefined;
  result: ModelMetadata | undefined;
  error: string | undefined;
}

export interface TrainingJobsOptions {
  readonly run: TrainRunner;
  /** Where a job's bars come from: the same provider that serves predictions. */
  readonly market: MarketDataProvider;
  /** Called after a successful job so the new version is loaded, warmed and served. */
  readonly onTrained: (metadata: ModelMetadata) => Promise<void>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Jobs run one at a time (training uses every core); finished jobs beyond this count are forgotten, oldest first. */
  readonly keepFinished?: number;
}

/**
 * Training jobs started through the API. One job per symbol at a time (a second one is a 409);
 * jobs run one after another in a worker, so predictions keep their event loop.
 */
export class TrainingJobs implements TrainingJobQueue {
  private readonly jobs = new Map<string, Job>();
  private readonly pending: Job[] = [];
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: TrainingJobsOptions) {
    this.publish();
  }

  async start(symbol: string, overrides: Partial<TrainingConfig>): Promise<Job> {
    const active = [...this.jobs.values()].find((j) => j.symbol === symbol && (j.status === 'queued' || j.status === 'running'));
    if (active) throw new ConflictError(`a training job for ${symbol} is already ${active.status}`, { job_id: active.id });
    const job: Job = {
      id: randomUUID(),
      symbol,
      overrides,
      status: 'queued',
      createdAt: new Date(),
      startedAt: undefined,
      finishedAt: undefined,
      progress: undefined,
      result: undefined,
      error: undefined,
    };
    this.jobs.set(job.id, job);
    this.pending.push(job);
    this.forgetOld();
    this.publish();
    this.running ??= this.drain();
    return job;
  }

  async get(id: string): Promise<Job | undefined> {
    return this.jobs.get(id);
  }

  /** Stops starting queued jobs and waits for the running one (its worker finishes or fails). */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }

  private async drain(): Promise<void> {
    try {
      for (let job = this.pending.shift(); job && !this.closed; job = this.pending.shift()) {
        await this.runJob(job);
      }
    } finally {
      this.running = undefined;
    }
  }

  private async runJob(job: Job): Promise<void> {
    const { run, onTrained, logger } = this.options;
    job.status = 'running';
    job.startedAt = new Date();
    this.publish();
    logger.info({ job_id: job.id, symbol: job.symbol }, 'training job started');
    try {
      // The newest bars the source can give within its fetch budget (stored ones if it is down).
      const bars = await this.options.market.getBars(job.symbol, { fresh: true });
      const series = [{ symbol: job.symbol, bars }];
      const metadata = await run({ symbol: job.symbol, overrides: job.overrides, series, dataSource: this.options.market.name }, (progress) => {
        job.progress = progress;
      });
      await onTrained(metadata);
      job.result = metadata;
      job.status = 'succeeded';
      logger.info({ job_id: job.id, symbol: job.symbol, version: metadata.version, beats_naive: metadata.beats_naive }, 'training job succeeded');
    } catch (error) {
      job.error = errorMessage(error);
      job.status = 'failed';
      logger.error({ job_id: job.id, symbol: job.symbol, err: error }, 'training job failed');
    } finally {
      job.finishedAt = new Date();
      this.publish();
    }
  }

  private forgetOld(): void {
    const keep = this.options.keepFinished ?? 100;
    const finished = [...this.jobs.values()].filter((j) => j.status === 'succeeded' || j.status === 'failed');
    for (const job of finished.slice(0, Math.max(0, finished.length - keep))) this.jobs.delete(job.id);
  }

  private publish(): void {
    const counts: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
    for (const job of this.jobs.values()) counts[job.status] += 1;
    for (const status of Object.keys(counts) as JobStatus[]) this.options.metrics.trainingJobs.set({ status }, counts[status]);
  }
}
