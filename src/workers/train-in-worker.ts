import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../errors.js';
import type { BackendPreference } from '../ml/backend.js';
import type { UnseenEvaluation } from '../ml/training/train.js';
import type { Evaluation, ModelMetadata, TrainingConfig, TrainingProgress } from '../ml/types.js';
import type { SeriesInput } from '../ml/dataset.js';

/** Everything a worker needs to train and store one model; plain data, so it crosses the thread boundary. */
export interface TrainingJob {
  /** Model key: lower-case symbol, or GLOBAL_MODEL_KEY. */
  readonly key: string;
  /**
   * The bars that train it, read by the caller through the market-data provider (one series for a symbol
   * model, all for the global model), so a model trains on exactly the bars the service serves.
   */
  readonly series: readonly SeriesInput[];
  /** Series kept out of training and scored on the test split afterwards (TrainingInput.unseen). */
  readonly unseen?: readonly SeriesInput[];
  /** Name of the provider the bars came from, recorded in the metadata. */
  readonly dataSource: string;
  readonly config: TrainingConfig;
  readonly backend: BackendPreference;
  /** `persistent_data/ml_models` and `persistent_data/scalers`. */
  readonly modelsDir: string;
  readonly scalersDir: string;
  readonly keepVersions: number;
}

export interface TrainingJobResult {
  readonly key: string;
  readonly version: string;
  readonly metadata: ModelMetadata;
  /** The job's unseen series, each scored on its test split. */
  readonly unseen?: Readonly<Record<string, UnseenEvaluation>>;
}

export type TrainingOutcome =
  | { readonly key: string; readonly ok: true; readonly result: TrainingJobResult }
  | { readonly key: string; readonly ok: false; readonly error: Error };

/** Messages a training worker posts to its parent. */
export type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: TrainingProgress }
  | { readonly type: 'done'; readonly result: TrainingJobResult }
  | { readonly type: 'error'; readonly error: { readonly name: string; readonly message: string; readonly code?: ErrorCode } };

const WORKER_ENTRY = new URL('./training-worker.js', import.meta.url);

function rebuildError(error: { name: string; message: string; code?: ErrorCode }): Error {
  const rebuilt = error.code === undefined ? new Error(error.message) : new AppError(error.code, error.message);
  rebuilt.name = error.name;
  return rebuilt;
}

/**
 * Trains and saves one model in a worker thread, off the caller's event loop. Resolves with the
 * new version once it is stored and current; `signal` terminates the worker (nothing is saved
 * unless the save had finished).
 */
export function trainInWorker(
  job: TrainingJob,
  onProgress?: (progress: TrainingProgress) => void,
  options: { signal?: AbortSignal } = {},
): Promise<TrainingJobResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new Error(`training of ${job.key} aborted`));
      return;
    }
    const worker = new Worker(WORKER_ENTRY, { workerData: job });
    let settled = false;
    let aborted = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', abort);
      fn();
    };
    // Rejects only once the thread is gone, so nothing can be saved after the caller hears "aborted".
    const abort = (): void => {
      aborted = true;
      void worker.terminate();
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress?.(message.progress);
      else if (message.type === 'done') settle(() => resolve(message.result));
      else settle(() => reject(rebuildError(message.error)));
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) =>
      settle(() => reject(new Error(aborted ? `training of ${job.key} aborted` : `training worker for ${job.key} exited with code ${code} before finishing`))),
    );
  });
}

/**
 * Trains every job, `parallel` at a time (default: one per core), each in its own worker.
 * One failure does not stop the others; outcomes come back in job order.
 */
export async function trainAll(
  jobs: readonly TrainingJob[],
  options: { parallel?: number; onProgress?: (progress: TrainingProgress, job: TrainingJob) => void; onOutcome?: (outcome: TrainingOutcome, job: TrainingJob) => void } = {},
): Promise<TrainingOutcome[]> {
  const parallel = Math.max(1, Math.min(options.parallel ?? os.availableParallelism(), jobs.length));
  const outcomes: TrainingOutcome[] = new Array(jobs.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < jobs.length) {
      const index = next;
      next += 1;
      const job = jobs[index] as TrainingJob;
      let outcome: TrainingOutcome;
      try {
        outcome = { key: job.key, ok: true, result: await trainInWorker(job, (progress) => options.onProgress?.(progress, job)) };
      } catch (error) {
        outcome = { key: job.key, ok: false, error: error instanceof Error ? error : new Error(String(error)) };
      }
      outcomes[index] = outcome;
      options.onOutcome?.(outcome, job);
    }
  }
  await Promise.all(Array.from({ length: parallel }, lane));
  return outcomes;
}
