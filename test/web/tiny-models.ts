import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseBarsCsv } from '../../src/market/csv.js';
import { selectBackend } from '../../src/ml/backend.js';
import { DEFAULT_TRAINING_CONFIG, trainModel } from '../../src/ml/training/index.js';
import { GLOBAL_MODEL_KEY, type TrainingConfig } from '../../src/ml/types.js';
import type { SeriesInput } from '../../src/ml/dataset.js';
import { ModelStore } from '../../src/model-store/store.js';
import { sampleDir } from '../helpers/paths.js';

/** Seconds of training per model: a real LSTM on the last real bars, with the service's 60-day head. */
const TINY: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, window: 10, units: 8, dropout: 0, epochs: 2, patience: 1, maxBars: 1000 };

async function sampleSeries(symbol: string): Promise<SeriesInput> {
  const file = path.join(sampleDir, `${symbol}.csv`);
  return { symbol, bars: parseBarsCsv(await readFile(file, 'utf8'), file) };
}

/**
 * Trains tiny real models on the repo's sample CSVs into `store`: one per symbol in `own`, and the
 * global model on `own` plus `globalOnly` (symbols that are then answered by the global model).
 */
export async function trainTinyModels(store: ModelStore, own: readonly string[], globalOnly: readonly string[]): Promise<void> {
  const backend = await selectBackend('auto');
  const train = async (key: string, series: SeriesInput[]) => {
    const trained = await trainModel({ key, series, config: TINY, backend, dataSource: 'csv' });
    try {
      await store.save(trained);
    } finally {
      trained.model.dispose();
    }
  };
  for (const symbol of own) await train(symbol.toLowerCase(), [await sampleSeries(symbol)]);
  await train(GLOBAL_MODEL_KEY, await Promise.all([...own, ...globalOnly].map(sampleSeries)));
}
