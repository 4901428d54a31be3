/**
 * Worker-thread entry of trainInWorker: selects the backend, trains on the bars the parent read
 * through its market-data provider, saves through the model store and reports progress and the
 * result to the parent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../errors.js';
import { ModelStore } from '../model-store/store.js';
import { selectBackend } from '../ml/backend.js';
import { trainModel } from '../ml/training/train.js';
import type { TrainingJob, WorkerMessage } from './train-in-worker.js';

const port = parentPort;
if (port === null) throw new Error('training-worker must run in a worker thread');
const post = (message: WorkerMessage): void => port.postMessage(message);

async function run(job: TrainingJob): Promise<void> {
  const backend = await selectBackend(job.backend);
  const trained = await trainModel({
    key: job.key,
    series: job.series,
    config: job.config,
    backend,
    dataSource: job.dataSource,
    unseen: job.unseen,
    onProgress: (progress) => post({ type: 'progress', progress }),
  });
  const store = new ModelStore({ modelsDir: job.modelsDir, scalersDir: job.scalersDir, keepVersions: job.keepVersions });
  try {
    const version = await store.save(trained);
    const metadata = await store.readMetadata(job.key, version);
    post({ type: 'done', result: { key: job.key, version, metadata, ...(trained.unseen === undefined ? {} : { unseen: trained.unseen }) } });
  } finally {
    trained.model.dispose();
  }
}

run(workerData as TrainingJob).catch((error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  post({ type: 'error', error: { name: e.name, message: e.message, ...(e instanceof AppError ? { code: e.code } : {}) } });
});
