import { randomUUID } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { ConflictError, errorMessage, UnavailableError } from '../errors.js';
import type { ModelMetadata, TrainingConfig, TrainingProgress } from '../ml/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { Redis } from 'ioredis';
import { closeWithConnection, KEEP_FINISHED, QUEUE_PREFIX, queueConnection, TRAINING_QUEUE, withinDeadline, type QueueSettings } from './queues.js';
import type { JobStatus, TrainingJobData, TrainingJobQueue, TrainingJobView } from './training-job.js';

/** How long the API waits for Redis before answering 503: a request must not hang on a Redis that is down. */
const QUEUE_DEADLINE_MS = 2000;
/** How often training_jobs{status} is read from the queue (the counts change in other processes too). */
const COUNTS_INTERVAL_MS = 15_000;

export interface QueuedTrainingJobsOptions {
  readonly redisUrl: string;
  readonly settings: QueueSettings;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

type TrainingQueueJob = Job<TrainingJobData, ModelMetadata>;

function statusOf(state: string): JobStatus {
  if (state === 'active') return 'running';
  if (state === 'completed') return 'succeeded';
  if (state === 'failed') return 'failed';
  // waiting, delayed (a retry's backoff), prioritized: not running yet.
  return 'queued';
}

const dateOf = (ms: number | undefined): Date | undefined => (ms === undefined || ms === null ? undefined : new Date(ms));

function viewOf(job: TrainingQueueJob, state: string): TrainingJobView {
  const status = statusOf(state);
  const progress = typeof job.progress === 'object' && job.progress !== null ? (job.progress as TrainingProgress) : undefined;
  return {
    id: String(job.id),
    symbol: job.data.symbol,
    status,
    createdAt: new Date(job.timestamp),
    startedAt: dateOf(job.processedOn),
    finishedAt: status === 'succeeded' || status === 'failed' ? dateOf(job.finishedOn) : undefined,
    progress,
    result: status === 'succeeded' ? job.returnvalue : undefined,
    error: status === 'failed' ? job.failedReason : undefined,
  };
}

/**
 * Training jobs on the BullMQ queue: any API replica enqueues and reads them, a worker process (ROLE=worker) runs
 * them. One active job per symbol across every replica: BullMQ's deduplication id (the symbol) is set atomically in
 * Redis with the job and cleared when it completes or finally fails, so a second POST gets the first job's id: a 409.
 */
export class QueuedTrainingJobs implements TrainingJobQueue {
  private readonly queue: Queue<TrainingJobData, ModelMetadata>;
  private readonly countsTimer: NodeJS.Timeout;
  private readonly connection: Redis;

  constructor(private readonly options: QueuedTrainingJobsOptions) {
    this.connection = queueConnection(options.redisUrl, 'producer');
    this.queue = new Queue<TrainingJobData, ModelMetadata>(TRAINING_QUEUE, {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
      defaultJobOptions: {
        attempts: options.settings.attempts,
        backoff: { type: 'exponential', delay: options.settings.backoffMs },
        removeOnComplete: KEEP_FINISHED,
        removeOnFail: KEEP_FINISHED,
      },
    });
    // Connection errors are reported by the calls that meet them; unhandled, they would crash the process.
    this.queue.on('error', (error) => options.logger.debug({ err: error }, 'job queue connection error'));
    // Every status has a series from the start (dashboards and alerts read them), refreshed from the shared queue.
    for (const status of ['queued', 'running', 'succeeded', 'failed'] as const) options.metrics.trainingJobs.set({ status }, 0);
    void this.publishCounts();
    this.countsTimer = setInterval(() => void this.publishCounts(), COUNTS_INTERVAL_MS);
    this.countsTimer.unref();
  }

  async start(symbol: string, overrides: Partial<TrainingConfig>): Promise<TrainingJobView> {
    const jobId = randomUUID();
    // A frozen Redis still holds the connection, and the add reaches it once it answers again: the 503 names the
    // job it may yet hold, so the client can look it up (a retry's 409 names the same id).
    const added = await this.withDeadline(this.queue.add('train', { symbol, overrides }, { jobId, deduplication: { id: symbol } }), { job_id: jobId });
    if (added.id !== jobId) {
      const active = added.id === undefined ? undefined : await this.get(added.id);
      throw new ConflictError(`a training job for ${symbol} is already ${active?.status ?? 'queued'}`, { job_id: added.id });
    }
    this.options.logger.info({ job_id: jobId, symbol }, 'training job queued');
    void this.publishCounts();
    return viewOf(added, 'waiting');
  }

  async get(id: string): Promise<TrainingJobView | undefined> {
    const job = await this.withDeadline(this.queue.getJob(id));
    if (job === undefined) return undefined;
    return viewOf(job, await this.withDeadline(job.getState()));
  }

  async close(): Promise<void> {
    clearInterval(this.countsTimer);
    await closeWithConnection(this.queue, this.connection);
  }

  /** training_jobs{status} from the queue's counts (every replica reports the same shared figures). */
  private async publishCounts(): Promise<void> {
    try {
      const counts = await this.withDeadline(this.queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'));
      const byStatus: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
      for (const [state, count] of Object.entries(counts)) byStatus[statusOf(state)] += count;
      for (const status of Object.keys(byStatus) as JobStatus[]) this.options.metrics.trainingJobs.set({ status }, byStatus[status]);
    } catch (error) {
      this.options.logger.debug({ err: error }, 'training job counts not refreshed');
    }
  }

  private async withDeadline<T>(work: Promise<T>, details?: Record<string, unknown>): Promise<T> {
    try {
      return await withinDeadline(work, QUEUE_DEADLINE_MS);
    } catch (error) {
      throw new UnavailableError(`the job queue (Redis) is unavailable: ${errorMessage(error)}`, 5, details, 'QUEUE_UNAVAILABLE');
    }
  }
}
