import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseBarsCsv } from '../../src/market/csv.js';
import { selectBackend } from '../../src/ml/backend.js';
import { DEFAULT_TRAINING_CONFIG, trainModel } from '../../src/ml/training/index.js';
import type { TrainingConfig } from '../../src/ml/types.js';
import { ModelStore } from '../../src/model-store/store.js';
import { repoRoot } from '../helpers/paths.js';

/** Seconds of training per symbol: a real LSTM on the last real bars, with the service's 60-day head. */
const TINY: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, window: 10, units: 8, dropout: 0, epochs: 2, patience: 1, maxBars: 1000 };

/** Models shipped in the repo's models/ folder (seeded by the service into an empty ml_models/). */
export async function shippedModelKeys(): Promise<string[]> {
  const modelsDir = path.join(repoRoot, 'models');
  return new ModelStore({ modelsDir, scalersDir: path.join(modelsDir, 'scalers') }).keys();
}

/** Trains tiny real models for `symbols` on the repo's sample CSVs into the given store folders. */
export async function trainTinyModels(symbols: readonly string[], modelsDir: string, scalersDir: string): Promise<void> {
  const store = new ModelStore({ modelsDir, scalersDir });
  const backend = await selectBackend('auto');
  for (const symbol of symbols) {
    const file = path.join(repoRoot, 'data', 'sample', `${symbol}.csv`);
    const bars = parseBarsCsv(await readFile(file, 'utf8'), file);
    const trained = await trainModel({ key: symbol.toLowerCase(), series: [{ symbol, bars }], config: TINY, backend, dataSource: 'csv' });
    try {
      await store.save(trained);
    } finally {
      trained.model.dispose();
    }
  }
}
