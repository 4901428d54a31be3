/**
 * Training throughput per tfjs backend, side by side in one run on a real symbol, plus the time to
 * train that symbol's full history with the default configuration.
 *
 *   npm run -s build && node dist/bench/training.js [--symbol NVDA] [--epochs 2] [--no-full] [--sweep]
 *
 * Numbers are wall-clock on a shared machine: compare backends within one run, not across runs. Printed as one
 * table (bench/table.ts), each figure beside its reference from the same run: wasm beside the cpu backend, the
 * full-history run beside the throughput row of its backend, its test errors beside the naive forecast's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { packageRoot } from '../src/config/package-root.js';
import { parseBarsCsv } from '../src/market/csv.js';
import { selectBackend, type BackendPreference } from '../src/ml/backend.js';
import { buildDataset, chronologicalSplitDates, fitDatasetScaler } from '../src/ml/dataset.js';
import { buildLstmModel } from '../src/ml/lstm.js';
import { DEFAULT_TRAINING_CONFIG } from '../src/ml/training/config.js';
import { fitNetwork } from '../src/ml/training/fit.js';
import { trainModel } from '../src/ml/training/train.js';
import type { TrainingConfig } from '../src/ml/types.js';
import { printTable, type Row } from './table.js';

const { values: args } = parseArgs({
  options: {
    symbol: { type: 'string', default: 'NVDA' },
    epochs: { type: 'string', default: '2' },
    'no-full': { type: 'boolean', default: false },
    sweep: { type: 'boolean', default: false },
  },
});

const symbol = (args.symbol ?? 'NVDA').toUpperCase();
const file = path.join(packageRoot, 'data', 'sample', `${symbol}.csv`);
const bars = parseBarsCsv(readFileSync(file, 'utf8'), file);
const series = [{ symbol, bars }];
const split = chronologicalSplitDates(series, DEFAULT_TRAINING_CONFIG.trainFraction, DEFAULT_TRAINING_CONFIG.validationFraction);

/** Samples per second of forward + backward passes on the symbol's training split, `epochs` epochs. */
async function throughput(backend: BackendPreference, config: TrainingConfig): Promise<{ samples: number; samplesPerSecond: number }> {
  const running = await selectBackend(backend);
  if (running !== backend) throw new Error(`backend ${backend} is not available (got ${running})`);
  const dataset = buildDataset(series, config.window, config.horizon, split);
  const scaler = fitDatasetScaler(dataset);
  const model = buildLstmModel({ ...config, features: dataset.featureNames.length });
  try {
    // patience >= epochs: every epoch runs, so each backend does the same work
    const result = await fitNetwork(model, dataset, scaler, { ...config, patience: config.epochs });
    return { samples: dataset.train.length, samplesPerSecond: result.samplesPerSecond };
  } finally {
    model.dispose();
  }
}

const epochs = Number(args.epochs);
const base: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, epochs };
const network = (c: TrainingConfig): string => `window ${c.window}, ${c.layers}× LSTM(${c.units}), horizon ${c.horizon}, batch ${c.batchSize}`;
const perSecond = (samplesPerSecond: number): string => `${samplesPerSecond.toFixed(0)} samples/s`;
const rows: Row[] = [];

// Throughput per backend, the cpu backend (plain JavaScript, always there) as the reference of the others.
const measured: Partial<Record<'wasm' | 'cpu', { samples: number; samplesPerSecond: number }>> = {};
const unavailable: Partial<Record<'wasm' | 'cpu', string>> = {};
for (const backend of ['wasm', 'cpu'] as const) {
  try {
    measured[backend] = await throughput(backend, base);
  } catch (error) {
    unavailable[backend] = error instanceof Error ? error.message : String(error);
  }
}
const describe = (backend: 'wasm' | 'cpu'): string => {
  const row = measured[backend];
  return row ? `${perSecond(row.samplesPerSecond)} (${row.samples} train samples)` : `unavailable: ${unavailable[backend]}`;
};
const { wasm, cpu } = measured;
rows.push({
  measure: `training throughput on wasm: ${symbol}'s training split, ${network(base)}, ${epochs} epochs (every one run)`,
  value: describe('wasm'),
  reference: `cpu backend, same network and samples: ${describe('cpu')}${wasm && cpu ? ` → wasm ${(wasm.samplesPerSecond / cpu.samplesPerSecond).toFixed(1)}× cpu` : ''}`,
});
const native = await selectBackend('tensorflow');
if (native !== 'tensorflow') {
  rows.push({ measure: 'training throughput on tensorflow (@tensorflow/tfjs-node)', value: `unavailable: not installed (fell back to ${native})`, reference: `cpu backend: ${describe('cpu')}` });
}

if (args.sweep) {
  // Each configuration beside the defaults, all on wasm for 1 epoch: the defaults run again for 1 epoch rather than
  // being taken from the throughput row, so both sides of a row did the same number of epochs.
  const defaults = await throughput('wasm', { ...base, epochs: 1 });
  for (const [window, units, batchSize] of [
    [30, 16, 64],
    [30, 32, 32],
    [30, 32, 64],
    [30, 64, 64],
    [60, 32, 64],
  ] as const) {
    const row = await throughput('wasm', { ...base, window, units, batchSize, epochs: 1 });
    rows.push({
      measure: `wasm sweep, 1 epoch: window ${window}, ${units} units, batch ${batchSize}`,
      value: perSecond(row.samplesPerSecond),
      reference: `the defaults (${network(base)}): ${perSecond(defaults.samplesPerSecond)} → ${(row.samplesPerSecond / defaults.samplesPerSecond).toFixed(2)}×`,
    });
  }
}

if (!args['no-full']) {
  const backend = await selectBackend('auto');
  const started = performance.now();
  const trained = await trainModel({
    key: symbol.toLowerCase(),
    series,
    config: DEFAULT_TRAINING_CONFIG,
    backend,
    dataSource: 'csv',
    // Progress while the run lasts (a minute or more), not a figure of the table: on stderr.
    onProgress: (p) => process.stderr.write(`  training ${symbol}: epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} val_loss ${p.val_loss.toFixed(4)}\n`),
  });
  const seconds = (performance.now() - started) / 1000;
  const e = trained.metadata.evaluation;
  const t = trained.metadata.timings;
  const throughputHere = backend === 'wasm' || backend === 'cpu' ? measured[backend] : undefined;
  rows.push({
    measure: `time to train ${symbol}'s full history (${bars.length} bars, ${bars[0]?.date}..${bars.at(-1)?.date}) with the defaults on ${backend}: up to ${DEFAULT_TRAINING_CONFIG.epochs} epochs, patience ${DEFAULT_TRAINING_CONFIG.patience}`,
    value: `${seconds.toFixed(1)} s, ${t.epochs_run} epochs (best ${t.best_epoch}), ${perSecond(t.samples_per_second)}`,
    reference: throughputHere ? `throughput row on ${backend}: ${perSecond(throughputHere.samplesPerSecond)}` : `no throughput row on ${backend}`,
  });
  rows.push({
    measure: `that model on its test split ${e.test_from}..${e.test_to} (${e.test_days} days): served MAE, served (raw network) hit rate, 80 % / 95 % interval coverage, change correlation`,
    value: `MAE ${e.mae.toFixed(4)}, hit rate ${e.hit_rate.toFixed(3)} (${e.lstm_hit_rate?.toFixed(3) ?? 'n/a'}), coverage ${e.interval_coverage_80.toFixed(3)} / ${e.interval_coverage_95.toFixed(3)}, change correlation ${e.change_correlation.toFixed(3)}`,
    reference: `naive forecast MAE ${e.naive_mae.toFixed(4)} (ratio ${e.mae_ratio.toFixed(4)}, beats naive: ${trained.metadata.beats_naive}), always-up hit rate ${e.always_up_hit_rate.toFixed(3)}, nominal coverage 0.800 / 0.950, change correlation 0 without skill`,
  });
  trained.model.dispose();
}

printTable(`Training benchmark: ${symbol}, tfjs ${tf.version.tfjs}`, rows);
