import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildDataset, chronologicalSplitDates, fitDatasetScaler, inputTensor, targetTensor } from '../../src/ml/dataset.js';
import { InsufficientBarsError } from '../../src/ml/errors.js';
import { buildLstmModel } from '../../src/ml/lstm.js';
import { fitNetwork, predictSamples } from '../../src/ml/training/fit.js';
import { barsChecksum, trainModel, type TrainedModel } from '../../src/ml/training/train.js';
import { GLOBAL_MODEL_KEY, type TrainingConfig, type TrainingProgress } from '../../src/ml/types.js';
import { realBars, testBackend, TINY_CONFIG } from './real-bars.js';

let backend = '';
before(async () => {
  backend = await testBackend();
});

const nvda = realBars('NVDA', 500);
const train = (config: TrainingConfig, onProgress?: (p: TrainingProgress) => void): Promise<TrainedModel> =>
  trainModel({ key: 'nvda', series: [{ symbol: 'NVDA', bars: nvda }], config, backend, dataSource: 'csv', ...(onProgress ? { onProgress } : {}) });

describe('trainModel on real NVDA bars', () => {
  test('trains, reports progress, and evaluates honestly on the test split', async () => {
    const progress: TrainingProgress[] = [];
    const trained = await train(TINY_CONFIG, (p) => progress.push(p));
    try {
      const { metadata, scaler } = trained;
      assert.deepEqual(progress.map((p) => p.epoch), [1, 2, 3]);
      assert.ok(progress.every((p) => p.key === 'nvda' && p.epochs === 3 && Number.isFinite(p.loss) && Number.isFinite(p.val_loss) && p.eta_seconds >= 0));
      assert.equal(metadata.key, 'nvda');
      assert.deepEqual(metadata.symbols, ['NVDA']);
      assert.equal(metadata.backend, backend);
      assert.deepEqual(metadata.data, { from: nvda[0]?.date, to: nvda.at(-1)?.date, bars: 500, sha256: barsChecksum([{ symbol: 'NVDA', bars: nvda }]), source: 'csv' });
      assert.equal(metadata.horizon, 5);
      assert.equal(metadata.features.length, scaler.feature_names.length);
      // evaluation only on days after everything the scaler and the network saw
      assert.ok(scaler.fit_to < metadata.evaluation.test_from);
      assert.equal(metadata.evaluation.test_to, nvda.at(-1)?.date);
      assert.equal(metadata.beats_naive, metadata.evaluation.mae_ratio < 1);
      assert.ok(Math.abs(metadata.evaluation.mae_ratio - metadata.evaluation.mae / metadata.evaluation.naive_mae) < 1e-12);
      assert.ok(metadata.evaluation.hit_rate >= 0 && metadata.evaluation.hit_rate <= 1);
      assert.ok(metadata.evaluation.interval_coverage_95 >= metadata.evaluation.interval_coverage_80);
      const { calibration } = metadata;
      assert.equal(calibration.intervals.q80.length, 5);
      calibration.intervals.q80.forEach((q, h) => assert.ok(q > 0 && q <= (calibration.intervals.q95[h] as number)));
      assert.ok(calibration.shrinkage.length === 5 && calibration.shrinkage.every((k) => k >= 0 && k <= 1));
      assert.deepEqual(Object.keys(calibration.adaptive), ['NVDA']);
      assert.equal(metadata.evaluation.volatility_model, calibration.volatility.kind);
      assert.ok(metadata.timings.samples_per_second > 0 && metadata.timings.epochs_run === 3);
      assert.ok(metadata.timings.best_epoch >= 1 && metadata.timings.best_epoch <= 3);
      // the per-day test forecasts are exactly what the evaluation was computed from
      const points = trained.testForecasts?.['NVDA'] ?? [];
      assert.deepEqual(Object.keys(trained.testForecasts ?? {}), ['NVDA']);
      assert.equal(points.length, metadata.evaluation.test_days);
      assert.equal(points[0]?.date, metadata.evaluation.test_from);
      assert.equal(points.at(-1)?.date, metadata.evaluation.test_to);
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      assert.ok(Math.abs(mean(points.map((p) => Math.abs(p.actual - p.predicted))) - metadata.evaluation.mae) < 1e-9);
      assert.ok(Math.abs(mean(points.map((p) => Math.abs(p.actual - p.naive))) - metadata.evaluation.naive_mae) < 1e-9);
      const closes = new Map(nvda.map((b) => [b.date, b.adjClose]));
      for (const p of points) {
        assert.ok(Math.abs(p.actual - (closes.get(p.date) as number)) < 1e-6 * p.actual, `${p.date}: actual is the real close`);
        assert.ok(p.lower_95 <= p.lower_80 && p.lower_80 <= p.predicted && p.predicted <= p.upper_80 && p.upper_80 <= p.upper_95);
      }
      const inside80 = points.filter((p) => p.actual >= p.lower_80 && p.actual <= p.upper_80).length;
      assert.ok(inside80 > 0, 'the bands are real bands');
    } finally {
      trained.model.dispose();
    }
  });

  test('seeded: the same config trains the same model; another seed does not', async () => {
    const config = { ...TINY_CONFIG, dropout: 0.2 };
    const runs = [await train(config), await train(config), await train({ ...config, seed: 7 })];
    try {
      const weights = runs.map((r) => r.model.getWeights().map((w) => Array.from(w.dataSync())));
      assert.deepEqual(weights[1], weights[0]);
      assert.notDeepEqual(weights[2], weights[0]);
      assert.deepEqual(runs[1]?.metadata.evaluation, runs[0]?.metadata.evaluation);
    } finally {
      runs.forEach((r) => r.model.dispose());
    }
  });

  test('maxBars uses only the most recent bars', async () => {
    const trained = await train({ ...TINY_CONFIG, epochs: 1, maxBars: 300 });
    try {
      assert.equal(trained.metadata.data.bars, 300);
      assert.equal(trained.metadata.data.from, nvda[200]?.date);
    } finally {
      trained.model.dispose();
    }
  });

  test('a global model trains on several symbols and says so', async () => {
    const trained = await trainModel({
      key: GLOBAL_MODEL_KEY,
      series: ['AAPL', 'MSFT'].map((symbol) => ({ symbol, bars: realBars(symbol, 300) })),
      config: { ...TINY_CONFIG, epochs: 1 },
      backend,
      dataSource: 'csv',
    });
    try {
      assert.deepEqual(trained.metadata.symbols, ['AAPL', 'MSFT']);
      assert.equal(trained.metadata.data.bars, 600);
      assert.equal(trained.metadata.name, 'global_lstm_model');
      // one series of held-out points per symbol, not one pooled series
      assert.deepEqual(Object.keys(trained.testForecasts ?? {}).sort(), ['AAPL', 'MSFT']);
      const aapl = trained.testForecasts?.['AAPL'] ?? [];
      assert.equal(new Set(aapl.map((p) => p.date)).size, aapl.length);
    } finally {
      trained.model.dispose();
    }
  });

  test('too little history is a typed error, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    await assert.rejects(
      trainModel({ key: 'nvda', series: [{ symbol: 'NVDA', bars: nvda.slice(-70) }], config: TINY_CONFIG, backend, dataSource: 'csv' }),
      InsufficientBarsError,
    );
    await assert.rejects(trainModel({ key: 'x', series: [], config: TINY_CONFIG, backend, dataSource: 'csv' }), InsufficientBarsError);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('early stopping', () => {
  test('stops after `patience` epochs without improvement and restores the best epoch’s weights', async () => {
    const series = [{ symbol: 'NVDA', bars: nvda }];
    const config: TrainingConfig = { ...TINY_CONFIG, epochs: 12, patience: 2, learningRate: 0.05 };
    const dataset = buildDataset(series, config.window, config.horizon, chronologicalSplitDates(series, 0.7, 0.15));
    const scaler = fitDatasetScaler(dataset);
    const model = buildLstmModel({ ...config, features: dataset.featureNames.length });
    try {
      const tensorsBefore = tf.memory().numTensors;
      const result = await fitNetwork(model, dataset, scaler, config);
      assert.equal(tf.memory().numTensors, tensorsBefore, 'snapshots and per-epoch tensors are freed');
      const losses = result.history.map((h) => h.val_loss);
      const bestIndex = losses.indexOf(Math.min(...losses));
      assert.equal(result.bestEpoch, bestIndex + 1);
      assert.ok(result.epochsRun === config.epochs || result.epochsRun === result.bestEpoch + config.patience);
      // the model now has the best epoch's weights, not the last epoch's
      const x = inputTensor(dataset.validation, config.window, scaler);
      const y = targetTensor(dataset.validation, scaler);
      const restored = (model.evaluate(x, y, { batchSize: 512 }) as tf.Scalar).dataSync()[0] as number;
      tf.dispose([x, y]);
      assert.ok(Math.abs(restored - result.bestValLoss) < 1e-5, `restored ${restored} vs best ${result.bestValLoss}`);
      assert.equal(predictSamples(model, dataset.test, config.window, scaler).length, dataset.test.length);
    } finally {
      model.dispose();
    }
  });
});

describe('divergence', () => {
  test('a run whose validation loss is not finite is refused, not saved as a model', async () => {
    const series = [{ symbol: 'NVDA', bars: nvda }];
    const config: TrainingConfig = { ...TINY_CONFIG, epochs: 2, learningRate: 1 };
    const dataset = buildDataset(series, config.window, config.horizon, chronologicalSplitDates(series, 0.7, 0.15));
    const scaler = fitDatasetScaler(dataset);
    // targets scaled beyond float32 range: the loss overflows, as in a diverging run
    const exploding = { ...scaler, target_std: scaler.target_std.map(() => 1e-30) };
    const model = buildLstmModel({ ...config, features: dataset.featureNames.length });
    try {
      await assert.rejects(fitNetwork(model, dataset, exploding, config), /training diverged/);
    } finally {
      model.dispose();
    }
  });
});
