import type { Logger } from 'pino';
import type { AppConfig } from '../config/env.js';
import { symbolModelKey } from '../ml/types.js';
import { trainInWorker } from '../workers/train-in-worker.js';
import type { TrainRunner } from './training-jobs.js';

/**
 * Training jobs of the API run in a worker thread (trainInWorker, src/workers/): the event loop that answers predictions
 * never runs a training step. The worker trains on the bars the job read through the service's market-data
 * provider and saves the new version into the store, which switches CURRENT; the job then reloads the
 * registry so the new version serves.
 */
export function workerTrainRunner(config: AppConfig, logger: Logger): TrainRunner {
  return async (request, onProgress) => {
    const key = symbolModelKey(request.symbol);
    const trainingConfig = Object.freeze({ ...config.training, ...request.overrides });
    logger.info({ model: key, config: trainingConfig }, 'training in a worker thread');
    const result = await trainInWorker(
      {
        key,
        series: request.series,
        dataSource: request.dataSource,
        config: trainingConfig,
        backend: config.tfjsBackend,
        modelsDir: config.layout.mlModels,
        scalersDir: config.layout.scalers,
        keepVersions: config.modelKeepVersions,
      },
      onProgress,
    );
    return result.metadata;
  };
}
