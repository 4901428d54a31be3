import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ValidationError } from '../../src/errors.js';
import { buildDataset, chronologicalSplitDates } from '../../src/ml/dataset.js';
import { InsufficientBarsError } from '../../src/ml/errors.js';
import { FEATURE_WARMUP } from '../../src/ml/features.js';
import { nextTradingDays } from '../../src/calendar/nyse.js';
import { createForecaster } from '../../src/ml/predictor.js';
import { predictSamples } from '../../src/ml/training/fit.js';
import { trainModel, type TrainedModel } from '../../src/ml/training/train.js';
import type { Forecaster, ModelMetadata } from '../../src/ml/types.js';
import { realBars, testBackend, TINY_CONFIG } from './real-bars.js';

const bars = realBars('TSLA', 500);
let trained: TrainedModel;
let metadata: ModelMetadata;
let forecaster: Forecaster;

before(async () => {
  const backend = await testBackend();
  trained = await trainModel({ key: 'tsla', series: [{ symbol: 'TSLA', bars }], config: TINY_CONFIG, backend, dataSource: 'csv' });
  metadata = { ...trained.metadata, version: 'test', scaler_sha256: 'n/a' };
  forecaster = createForecaster(trained.model, trained.scaler, metadata);
});
after(() => forecaster.dispose());

describe('forecast dates', () => {
  test('the following NYSE sessions: weekends and holidays skipped', () => {
    assert.deepEqual(nextTradingDays('2025-10-09', 4), ['2025-10-10', '2025-10-13', '2025-10-14', '2025-10-15']);
    assert.deepEqual(nextTradingDays('2025-10-11', 1), ['2025-10-13']);
    // Thanksgiving (27 Nov) and Christmas (25 Dec) 2025 carry no forecast; later dates are not shifted
    assert.deepEqual(nextTradingDays('2025-11-25', 3), ['2025-11-26', '2025-11-28', '2025-12-01']);
    assert.deepEqual(nextTradingDays('2025-12-23', 3), ['2025-12-24', '2025-12-26', '2025-12-29']);
  });
});

describe('createForecaster', () => {
  test('requiredBars is the window plus the feature warm-up', () => {
    assert.equal(forecaster.requiredBars, TINY_CONFIG.window + FEATURE_WARMUP);
  });

  test('prices are rebuilt from the last close with intervals around them', async () => {
    const forecast = await forecaster.forecast(bars, 5);
    const last = bars.at(-1);
    assert.equal(forecast.as_of, last?.date);
    assert.equal(forecast.current_price, last?.adjClose);
    assert.deepEqual(forecast.points.map((p) => p.date), nextTradingDays(last?.date ?? '', 5));
    // the 80% band is the conformal multiple of the last 20 days' volatility (sample std of log returns)
    const returns = bars.slice(-21).map((b, i, all) => (i === 0 ? 0 : Math.log(b.adjClose / (all[i - 1]?.adjClose as number)))).slice(1);
    const mean = returns.reduce((a, b) => a + b, 0) / 20;
    const volatility = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / 19);
    forecast.points.forEach((p, h) => {
      assert.ok(p.lower_95 < p.lower_80 && p.lower_80 < p.price && p.price < p.upper_80 && p.upper_80 < p.upper_95, JSON.stringify(p));
      const r = Math.log(p.price / forecast.current_price);
      assert.ok(Math.abs(Math.log(p.upper_80 / forecast.current_price) - r - (metadata.intervals.q80[h] as number) * volatility) < 1e-9);
    });
    assert.ok(metadata.direction.hit_rates.includes(forecast.confidence), 'confidence is an empirical hit rate from validation');
    assert.equal((await forecaster.forecast(bars, 2)).points.length, 2);
  });

  test('matches the training path: same prediction as the held-out evaluation made for that day', async () => {
    const series = [{ symbol: 'TSLA', bars }];
    const { test: samples } = buildDataset(series, TINY_CONFIG.window, TINY_CONFIG.horizon, chronologicalSplitDates(series, 0.7, 0.15));
    const sample = samples[10];
    assert.ok(sample !== undefined);
    const [expected] = predictSamples(trained.model, [sample], TINY_CONFIG.window, trained.scaler);
    const dayIndex = bars.findIndex((b) => b.date === sample.date);
    const forecast = await forecaster.forecast(bars.slice(0, dayIndex + 1), 5);
    forecast.points.forEach((p, h) => assert.ok(Math.abs(Math.log(p.price / sample.lastPrice) - (expected?.[h] as number)) < 1e-5));
  });

  test('deterministic, and independent of history older than it needs', async () => {
    const a = await forecaster.forecast(bars, 5);
    const b = await forecaster.forecast(bars, 5);
    const c = await forecaster.forecast(bars.slice(-(forecaster.requiredBars + 250)), 5);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
  });

  test('bad input: days out of range, too few bars', async () => {
    await assert.rejects(forecaster.forecast(bars, 0), ValidationError);
    await assert.rejects(forecaster.forecast(bars, metadata.horizon + 1), ValidationError);
    await assert.rejects(forecaster.forecast(bars, 1.5), ValidationError);
    await assert.rejects(forecaster.forecast(bars.slice(-(forecaster.requiredBars - 1)), 1), (e: unknown) =>
      e instanceof InsufficientBarsError && e.required === forecaster.requiredBars && e.available === forecaster.requiredBars - 1);
    assert.ok((await forecaster.forecast(bars.slice(-forecaster.requiredBars), 1)).points.length === 1, 'exactly requiredBars is enough');
  });

  test('a scaler from another configuration is refused', () => {
    assert.throws(() => createForecaster(trained.model, trained.scaler, { ...metadata, horizon: 60 }), TypeError);
  });

  test('no tensor leak across many forecasts; dispose frees the model', async () => {
    await forecaster.forecast(bars, 5);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 300; i += 1) await forecaster.forecast(bars, 1 + (i % 5));
    assert.equal(tf.memory().numTensors, before);
    await assert.rejects(forecaster.forecast(bars.slice(0, 10), 1), InsufficientBarsError);
    assert.equal(tf.memory().numTensors, before);

    const other = await trainModel({ key: 'tsla', series: [{ symbol: 'TSLA', bars }], config: { ...TINY_CONFIG, epochs: 1 }, backend: metadata.backend, dataSource: 'csv' });
    const withModel = tf.memory().numTensors;
    const disposable = createForecaster(other.model, other.scaler, { ...other.metadata, version: 'x', scaler_sha256: 'n/a' });
    await disposable.forecast(bars, 1);
    const weightCount = other.model.getWeights().length;
    disposable.dispose();
    assert.equal(tf.memory().numTensors, withModel - weightCount);
    await assert.rejects(disposable.forecast(bars, 1), /disposed/);
  });
});
