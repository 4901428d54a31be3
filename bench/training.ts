/**
 * Training throughput per tfjs backend, side by side in one run on a real symbol, plus the time to
 * train that symbol's full history with the default configuration.
 *
 *   npm run -s build && node dist/bench/training.js [--symbol NVDA] [--epochs 2] [--no-full] [--sweep]
 *
 * Numbers are wall-clock on a shared machine: compare backends within one run, not across runs.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
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
async function throughput(backend: BackendPreference, config: TrainingConfig): Promise<{ backend: string; samples: number; samplesPerSecond: number }> {
  const running = await selectBackend(backend);
  if (running !== backend) throw new Error(`backend ${backend} is not available (got ${running})`);
  const dataset = buildDataset(series, config.window, config.horizon, split);
  const scaler = fitDatasetScaler(dataset);
  const model = buildLstmModel({ ...config, features: dataset.featureNames.length });
  try {
    // patience >= epochs: every epoch runs, so each backend does the same work
    const result = await fitNetwork(model, dataset, scaler, { ...config, patience: config.epochs });
    return { backend: running, samples: dataset.train.length, samplesPerSecond: result.samplesPerSecond };
  } finally {
    model.dispose();
  }
}

const pad = (value: string | number, width: number): string => String(value).padStart(width);
const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
console.log(`machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, tfjs ${tf.version.tfjs}`);
console.log(`symbol: ${symbol}, ${bars.length} bars (${bars[0]?.date} .. ${bars.at(-1)?.date})`);

const epochs = Number(args.epochs);
const base: TrainingConfig = { ...DEFAULT_TRAINING_CONFIG, epochs };
console.log(`\ntraining throughput, window ${base.window}, ${base.layers}x LSTM(${base.units}), horizon ${base.horizon}, batch ${base.batchSize}, ${epochs} epochs`);
console.log(`${pad('backend', 10)} ${pad('train samples', 14)} ${pad('samples/s', 10)}`);
const measured: { backend: string; samplesPerSecond: number }[] = [];
for (const backend of ['wasm', 'cpu'] as const) {
  try {
    const row = await throughput(backend, base);
    measured.push(row);
    console.log(`${pad(row.backend, 10)} ${pad(row.samples, 14)} ${pad(row.samplesPerSecond.toFixed(0), 10)}`);
  } catch (error) {
    console.log(`${pad(backend, 10)} unavailable: ${(error as Error).message}`);
  }
}
const native = await selectBackend('tensorflow');
if (native !== 'tensorflow') console.log(`${pad('tensorflow', 10)} unavailable (@tensorflow/tfjs-node not installed; fell back to ${native})`);

if (args.sweep) {
  console.log('\nwasm sweep (1 epoch each): window / units / batch → samples/s');
  for (const [window, units, batchSize] of [
    [30, 16, 64],
    [30, 32, 32],
    [30, 32, 64],
    [30, 32, 128],
    [30, 64, 64],
    [60, 32, 64],
  ] as const) {
    const row = await throughput('wasm', { ...base, window, units, batchSize, epochs: 1 });
    console.log(`${pad(window, 6)} ${pad(units, 6)} ${pad(batchSize, 6)} ${pad(row.samplesPerSecond.toFixed(0), 10)}`);
  }
}

if (!args['no-full']) {
  const backend = await selectBackend('auto');
  console.log(`\nfull history with the defaults on ${backend}: ${JSON.stringify(DEFAULT_TRAINING_CONFIG)}`);
  const started = performance.now();
  const trained = await trainModel({
    key: symbol.toLowerCase(),
    series,
    config: DEFAULT_TRAINING_CONFIG,
    backend,
    dataSource: 'csv',
    onProgress: (p) => console.log(`  epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} val_loss ${p.val_loss.toFixed(4)}`),
  });
  const seconds = (performance.now() - started) / 1000;
  const e = trained.metadata.evaluation;
  const t = trained.metadata.timings;
  console.log(`time to train ${symbol} (${bars.length} bars): ${seconds.toFixed(1)} s, ${t.epochs_run} epochs (best ${t.best_epoch}), ${t.samples_per_second.toFixed(0)} samples/s`);
  console.log(`test ${e.test_from}..${e.test_to} (${e.test_days} days): MAE ${e.mae.toFixed(4)} vs naive ${e.naive_mae.toFixed(4)} (ratio ${e.mae_ratio.toFixed(4)}, beats naive: ${trained.metadata.beats_naive}), hit rate ${e.hit_rate.toFixed(3)} vs always-up ${e.always_up_hit_rate.toFixed(3)}, coverage 80% ${e.interval_coverage_80.toFixed(3)}, 95% ${e.interval_coverage_95.toFixed(3)}, change correlation ${e.change_correlation.toFixed(3)}`);
  trained.model.dispose();
}
const wasmRow = measured.find((m) => m.backend === 'wasm');
const cpuRow = measured.find((m) => m.backend === 'cpu');
if (wasmRow && cpuRow) console.log(`\nwasm / cpu speed-up: ${(wasmRow.samplesPerSecond / cpuRow.samplesPerSecond).toFixed(1)}x`);
