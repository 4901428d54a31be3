import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Bar } from '../../../src/market/bar.js';
import { buildDataset, chronologicalSplitDates, fitDatasetScaler, inputTensor, targetTensor, type Sample } from '../../../src/ml/dataset.js';
import { InsufficientBarsError } from '../../../src/ml/errors.js';
import { FEATURE_NAMES, FEATURE_WARMUP } from '../../../src/ml/features.js';
import { scaleFeatures } from '../../../src/ml/scaler.js';
import { realBars } from '../../ml/real-bars.js';

const WINDOW = 10;
const HORIZON = 5;

describe('windows, targets and the chronological split', () => {
  const bars = realBars('NVDA', 500);
  const index = new Map(bars.map((b, i) => [b.date, i]));
  const series = [{ symbol: 'NVDA', bars }];
  const split = chronologicalSplitDates(series, 0.7, 0.15);
  const dataset = buildDataset(series, WINDOW, HORIZON, split);
  const dayIndex = (s: Sample) => index.get(s.date) as number;

  test('targets are cumulative log returns of the adjusted close after day t', () => {
    for (const sample of [dataset.train[0], dataset.validation[3], dataset.test[7]] as Sample[]) {
      const t = dayIndex(sample);
      assert.equal(sample.lastPrice, bars[t]?.adjClose);
      assert.equal(sample.nextDate, bars[t + 1]?.date);
      sample.targets.forEach((r, k) => {
        const future = bars[t + k + 1];
        if (future === undefined) assert.ok(Number.isNaN(r));
        else assert.ok(Math.abs(r - Math.log(future.adjClose / (bars[t]?.adjClose as number))) < 1e-12);
      });
    }
  });

  test('the first sample has a full window after the feature warm-up', () => {
    assert.equal(dayIndex(dataset.train[0] as Sample), FEATURE_WARMUP + WINDOW - 1);
  });

  test('no target day is shared between splits; straddling samples are purged', () => {
    const lastTarget = (s: Sample) => bars[dayIndex(s) + HORIZON]?.date ?? '9999';
    assert.ok(dataset.train.every((s) => lastTarget(s) < split.validationFrom));
    assert.ok(dataset.validation.every((s) => s.nextDate >= split.validationFrom && lastTarget(s) < split.testFrom));
    assert.ok(dataset.test.every((s) => s.nextDate >= split.testFrom));
    // purge: the HORIZON - 1 days before each boundary produce no sample
    const lastTrain = dayIndex(dataset.train.at(-1) as Sample);
    const firstValidation = dayIndex(dataset.validation[0] as Sample);
    assert.equal(firstValidation - lastTrain, HORIZON);
    // every test day up to the last bar is forecast (later steps are NaN, scored where available)
    assert.equal(dataset.test.at(-1)?.nextDate, bars.at(-1)?.date);
    assert.ok(dataset.train.every((s) => s.targets.every(Number.isFinite)));
    assert.ok(dataset.validation.every((s) => s.targets.every(Number.isFinite)));
  });

  test('chronological order inside and between splits', () => {
    const dates = [...dataset.train, ...dataset.validation, ...dataset.test].map((s) => s.date);
    assert.deepEqual(dates, [...dates].sort());
    assert.equal(new Set(dates).size, dates.length);
  });

  test('input tensor holds the scaled feature rows of the window ending on day t', () => {
    const scaler = fitDatasetScaler(dataset);
    const sample = dataset.test[3] as Sample;
    const x = inputTensor([sample], WINDOW, scaler);
    const y = targetTensor(dataset.train.slice(0, 4), scaler);
    try {
      assert.deepEqual(x.shape, [1, WINDOW, FEATURE_NAMES.length]);
      assert.deepEqual(y.shape, [4, HORIZON]);
      const values = x.arraySync()[0] as number[][];
      const expectedLast = scaleFeatures(scaler, sample.featureRows[sample.row] as number[]);
      values[WINDOW - 1]?.forEach((v, j) => assert.ok(Math.abs(v - (expectedLast[j] as number)) < 1e-5));
      assert.equal(sample.featureRows[sample.row], sample.featureRows[dayIndex(sample) - FEATURE_WARMUP]);
    } finally {
      tf.dispose([x, y]);
    }
  });

  test('baselines use only bars up to day t', () => {
    const sample = dataset.test[0] as Sample;
    const t = dayIndex(sample);
    const last20 = bars.slice(t - 19, t + 1).map((b) => b.adjClose);
    assert.ok(Math.abs(sample.movingAverage - last20.reduce((a, b) => a + b, 0) / 20) < 1e-9);
    assert.ok(Math.abs(sample.driftPerDay - Math.log((bars[t]?.adjClose as number) / (bars[0]?.adjClose as number)) / t) < 1e-12);
  });
});

describe('several symbols (global model)', () => {
  test('each split is the concatenation of the per-symbol splits on one calendar', () => {
    const series = [
      { symbol: 'AAPL', bars: realBars('AAPL', 400) },
      { symbol: 'MSFT', bars: realBars('MSFT', 300) },
    ];
    const split = chronologicalSplitDates(series, 0.7, 0.15);
    const both = buildDataset(series, WINDOW, HORIZON, split);
    const one = series.map((s) => buildDataset([s], WINDOW, HORIZON, split));
    assert.equal(both.train.length, (one[0]?.train.length ?? 0) + (one[1]?.train.length ?? 0));
    assert.equal(both.test.length, (one[0]?.test.length ?? 0) + (one[1]?.test.length ?? 0));
    assert.deepEqual(new Set(both.test.map((s) => s.symbol)), new Set(['AAPL', 'MSFT']));
    assert.ok(both.test.every((s) => s.nextDate >= split.testFrom));
  });

  test('a symbol listed after the training period adds no training rows and does not move the scaler’s end', () => {
    const aapl = realBars('AAPL', 400);
    const series = [
      { symbol: 'AAPL', bars: aapl },
      { symbol: 'MSFT', bars: realBars('MSFT', 110) },
    ];
    const split = chronologicalSplitDates(series, 0.7, 0.15);
    const dataset = buildDataset(series, WINDOW, HORIZON, split);
    assert.ok(dataset.train.every((s) => s.symbol === 'AAPL'));
    assert.ok(dataset.test.some((s) => s.symbol === 'MSFT'));
    const scaler = fitDatasetScaler(dataset);
    assert.equal(scaler.fit_to, aapl[aapl.findIndex((b) => b.date === split.validationFrom) - 1]?.date);
    assert.equal(scaler.fit_rows, aapl.findIndex((b) => b.date === split.validationFrom) - FEATURE_WARMUP);
  });
});

describe('bad input', () => {
  test('too few bars for window, horizon and warm-up is a typed error saying how many are needed', () => {
    const bars: Bar[] = realBars('SPY', 60);
    const series = [{ symbol: 'SPY', bars }];
    assert.throws(
      () => buildDataset(series, WINDOW, HORIZON, chronologicalSplitDates(series, 0.7, 0.15)),
      (error: unknown) =>
        error instanceof InsufficientBarsError && error.code === 'INSUFFICIENT_HISTORY' && error.required === FEATURE_WARMUP + WINDOW + HORIZON && error.available === 60,
    );
  });

  test('enough bars for one window but not for a validation split is refused too', () => {
    const series = [{ symbol: 'SPY', bars: realBars('SPY', 80) }];
    assert.throws(() => buildDataset(series, WINDOW, HORIZON, chronologicalSplitDates(series, 0.7, 0.15)), InsufficientBarsError);
  });
});
