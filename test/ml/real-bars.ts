import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseBarsCsv } from '../../src/market/csv.js';
import type { Bar } from '../../src/market/bar.js';
import { selectBackend } from '../../src/ml/backend.js';
import { DEFAULT_TRAINING_CONFIG } from '../../src/ml/training/config.js';
import type { TrainingConfig } from '../../src/ml/types.js';
import { sampleDir } from '../helpers/paths.js';

/** The symbols of the bundled market CSVs (data/sample/). */
export const SAMPLE_SYMBOLS = ['AAPL', 'AMZN', 'GOOGL', 'MSFT', 'NVDA', 'SPY', 'TSLA'] as const;

/** The last `count` real daily bars of a symbol from the shared market CSVs. */
export function realBars(symbol: string, count?: number): Bar[] {
  const file = path.join(sampleDir, `${symbol}.csv`);
  const bars = parseBarsCsv(readFileSync(file, 'utf8'), file);
  return count === undefined ? bars : bars.slice(-count);
}

/** CI-sized: a few seconds of training on a few hundred bars. */
export const TINY_CONFIG: TrainingConfig = {
  ...DEFAULT_TRAINING_CONFIG,
  window: 10,
  horizon: 5,
  units: 8,
  dropout: 0,
  epochs: 3,
  patience: 2,
  batchSize: 32,
};

/** Tests run on the fastest backend available, the same choice the service makes. */
export function testBackend(): Promise<string> {
  return selectBackend('auto');
}
