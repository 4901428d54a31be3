import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ValidationError } from '../../src/errors.js';
import { buildDataset, chronologicalSplitDates } from '../../src/ml/dataset.js';
import { InsufficientBarsError } from '../../src/ml/errors.js';
import { FEATURE_WARMUP } from '../../src/ml/features.js';
import { nextTradingDays } from '../../src/calendar/nyse.js';
import { probabilityUp } from '../../src/ml/evaluation/calibration.js';
import { createForecaster } from '../../src/ml/predictor.js';
import { predictSamples } from '../../src/ml/training/fit.js';
import { trainModel, type TrainedModel } from '../../src/ml/training/train.js';
import { volatilityForecast } from '../../src/ml/volatility-head/choice.js';
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
  forecaster = createForecaster(trained.model, trained.scaler, metadata, 'auto', trained.volatilityHead?.head);
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

  test('prices are rebuilt from the last close: served (shrunk) beside the raw network, volatility-scaled bands, probability of an up day', async () => {
    const forecast = await forecaster.forecast(bars, 5);
    const last = bars.at(-1);
    const { calibration } = metadata;
    assert.equal(forecast.as_of, last?.date);
    assert.equal(forecast.current_price, last?.adjClose);
    assert.deepEqual(forecast.points.map((p) => p.date), nextTradingDays(last?.date ?? '', 5));
    // expected volatility: the chosen volatility model (EWMA, GARCH or the LSTM head) over the last 250 daily log returns
    const returns = bars.slice(-251).map((b, i, all) => (i === 0 ? 0 : Math.log(b.adjClose / (all[i - 1]?.adjClose as number)))).slice(1);
    const variances = volatilityForecast(calibration.volatility, trained.volatilityHead?.head, returns, 5);
    forecast.points.forEach((p, h) => {
      assert.ok(p.lower_95 < p.lower_80 && p.lower_80 < p.price && p.price < p.upper_80 && p.upper_80 < p.upper_95, JSON.stringify(p));
      const served = Math.log(p.price / forecast.current_price);
      const raw = Math.log(p.lstm_price / forecast.current_price);
      assert.ok(Math.abs(served - (calibration.shrinkage[h] as number) * raw) < 1e-12, 'served = factor × network');
      assert.ok(Math.abs(p.volatility - Math.sqrt(variances[h] as number)) < 1e-12);
      assert.ok(Math.abs(Math.log(p.upper_80 / forecast.current_price) - served - (calibration.intervals.q80[h] as number) * p.volatility) < 1e-9);
    });
    const next = forecast.points[0] as (typeof forecast.points)[number];
    assert.ok(Math.abs(forecast.probability_up - probabilityUp(calibration.direction, Math.log(next.lstm_price / forecast.current_price))) < 1e-12);
    assert.equal(forecast.confidence, Math.max(forecast.probability_up, 1 - forecast.probability_up));
    assert.equal((await forecaster.forecast(bars, 2)).points.length, 2);
    // The forecaster keeps the dates after the last bar: with one bar fewer they follow that bar's date instead.
    const earlier = bars.slice(0, -1);
    assert.deepEqual((await forecaster.forecast(earlier, 3)).points.map((p) => p.date), nextTradingDays(earlier.at(-1)?.date ?? '', 3));
  });

  test('the adaptive band state: the one stored for the symbol at the end of the test split, or one passed in', async () => {
    const neutral = await forecaster.forecast(bars, 5);
    const stored = metadata.calibration.adaptive['TSLA'];
    assert.ok(stored !== undefined && stored.outcomes > 0, 'the test split’s matured outcomes were applied');
    const adapted = await forecaster.forecast(bars, 5, { symbol: 'TSLA' });
    const width = (p: { lower_80: number; upper_80: number }) => Math.log(p.upper_80 / p.lower_80);
    adapted.points.forEach((p, h) => {
      const ratio = width(p) / width(neutral.points[h] as (typeof neutral.points)[number]);
      assert.ok(Math.abs(ratio - Math.exp(stored.log_scale_80[h] as number)) < 1e-9);
    });
    const wide = { log_scale_80: [1, 1, 1, 1, 1], log_scale_95: [0, 0, 0, 0, 0], outcomes: 1 };
    const passed = await forecaster.forecast(bars, 1, { symbol: 'TSLA', adaptive: wide });
    assert.ok(Math.abs(width(passed.points[0] as (typeof passed.points)[number]) / width(neutral.points[0] as (typeof neutral.points)[number]) - Math.E) < 1e-9);
    assert.deepEqual(await forecaster.forecast(bars, 5, { symbol: 'MSFT' }), neutral, 'no state for a symbol it was not tested on');
  });

  test('serves what was evaluated: the first test day (no outcome matured yet) is the stored held-out forecast', async () => {
    const stored = trained.testForecasts?.['TSLA']?.[0];
    assert.ok(stored !== undefined);
    const dayIndex = bars.findIndex((b) => b.date === stored.date) - 1;
    const forecast = await forecaster.forecast(bars.slice(0, dayIndex + 1), 1);
    const p = forecast.points[0] as (typeof forecast.points)[number];
    for (const [served, evaluated] of [[p.price, stored.predicted], [p.lstm_price, stored.lstm_predicted], [p.lower_80, stored.lower_80], [p.upper_95, stored.upper_95], [forecast.probability_up, stored.probability_up]] as const) {
      assert.ok(Math.abs(served - evaluated) < 1e-4 * Math.abs(evaluated), `${served} vs ${evaluated}`);
    }
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

  test('a scaler from another configuration, or a version saved before calibration, is refused', () => {
    assert.throws(() => createForecaster(trained.model, trained.scaler, { ...metadata, horizon: 60 }), TypeError);
    const { calibration: _calibration, ...uncalibrated } = metadata;
    assert.throws(() => createForecaster(trained.model, trained.scaler, uncalibrated as ModelMetadata), /retrain/);
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
    const disposable = createForecaster(other.model, other.scaler, { ...other.metadata, version: 'x', scaler_sha256: 'n/a' }, 'auto', other.volatilityHead?.head);
    await disposable.forecast(bars, 1);
    const weightCount = other.model.getWeights().length;
    disposable.dispose();
    assert.equal(tf.memory().numTensors, withModel - weightCount);
    await assert.rejects(disposable.forecast(bars, 1), /disposed/);
  });
});
