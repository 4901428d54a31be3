import type { ModelMetadata, TrainingConfig, TrainingProgress } from '../ml/types.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** A training job as the API reports it, whether it runs in this process or in a worker behind the Redis queue. */
export interface TrainingJobView {
  readonly id: string;
  readonly symbol: string;
  readonly status: JobStatus;
  readonly createdAt: Date;
  readonly startedAt: Date | undefined;
  readonly finishedAt: Date | undefined;
  readonly progress: TrainingProgress | undefined;
  readonly result: ModelMetadata | undefined;
  readonly error: string | undefined;
}

/**
 * Where POST /train puts a job and GET /jobs/:id reads it: in-process (TrainingJobs, worker threads) without Redis,
 * the BullMQ queue (QueuedTrainingJobs) with it. `start` throws a ConflictError while the symbol has an active job.
 */
export interface TrainingJobQueue {
  start(symbol: string, overrides: Partial<TrainingConfig>): Promise<TrainingJobView>;
  get(id: string): Promise<TrainingJobView | undefined>;
  close(): Promise<void>;
}

/** What a queued training job carries: never the bars, which the worker reads itself when it (re)starts the job. */
export interface TrainingJobData {
  readonly symbol: string;
  readonly overrides: Partial<TrainingConfig>;
}
