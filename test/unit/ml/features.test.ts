import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Bar } from '../../../src/market/bar.js';
import {
  buildFeatureMatrix,
  exponentialMovingAverage,
  FEATURE_NAMES,
  FEATURE_WARMUP,
  featureColumns,
  logPriceOverMovingAverage,
  logReturns,
  logVolumeOverAverage,
  macd,
  relativeStrengthIndex,
  rollingStd,
  simpleMovingAverage,
} from '../../../src/ml/features.js';
import { realBars } from '../../ml/real-bars.js';

const close = (actual: readonly number[], expected: readonly number[], tolerance = 1e-12): void => {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => {
    if (Number.isNaN(e)) assert.ok(Number.isNaN(actual[i]), `index ${i}: expected NaN, got ${actual[i]}`);
    else assert.ok(Math.abs((actual[i] as number) - e) <= tolerance, `index ${i}: expected ${e}, got ${actual[i]}`);
  });
};
const NaN_ = Number.NaN;

describe('feature formulas against hand-computed values', () => {
  test('log returns', () => close(logReturns([100, 110, 99]), [NaN_, Math.log(1.1), Math.log(0.9)]));

  test('rolling sample standard deviation', () => {
    close(rollingStd([1, 2, 3, 4], 3), [NaN_, NaN_, 1, 1]);
    close(rollingStd([NaN_, 2, 4, 6], 2), [NaN_, NaN_, Math.SQRT2, Math.SQRT2]);
  });

  test('simple moving average and log price / moving average', () => {
    close(simpleMovingAverage([1, 2, 3, 4, 5], 3), [NaN_, NaN_, 2, 3, 4]);
    close(logPriceOverMovingAverage([1, 2, 3, 4, 5], 3), [NaN_, NaN_, Math.log(3 / 2), Math.log(4 / 3), Math.log(5 / 4)]);
  });

  test('exponential moving average is seeded with the simple mean of the first n values', () => {
    // alpha = 2 / (3 + 1) = 0.5; seed (1 + 2 + 3) / 3 = 2; then 0.5*4 + 0.5*2 = 3, 0.5*5 + 0.5*3 = 4
    close(exponentialMovingAverage([1, 2, 3, 4, 5], 3), [NaN_, NaN_, 2, 3, 4]);
  });

  test("Wilder's RSI", () => {
    // changes +1, -1, +1, +1; period 2: first averages 0.5/0.5 → 50; then gain (0.5 + 1)/2 = 0.75, loss 0.25 → RS 3 → 75;
    // then gain 0.875, loss 0.125 → RS 7 → 87.5
    close(relativeStrengthIndex([1, 2, 1, 2, 3], 2), [NaN_, NaN_, 50, 75, 87.5]);
    close(relativeStrengthIndex([1, 2, 3, 4], 2), [NaN_, NaN_, 100, 100], 0);
  });

  test('MACD line, signal and histogram', () => {
    // fast EMA(2): 2, 2, 4, 4, 16/3 from index 1; slow EMA(3): 2, 3.5, 3.75, 4.875 from index 2
    const m = macd([1, 3, 2, 5, 4, 6], 2, 3, 2);
    close(m.line, [NaN_, NaN_, 0, 0.5, 0.25, 16 / 3 - 4.875]);
    // signal EMA(2) of the line, seeded (0 + 0.5) / 2 = 0.25 at index 3
    close(m.signal, [NaN_, NaN_, NaN_, 0.25, 0.25, ((16 / 3 - 4.875) * 2) / 3 + 0.25 / 3]);
    close(m.histogram, [NaN_, NaN_, NaN_, 0.25, 0, (16 / 3 - 4.875 - 0.25) / 3]);
  });

  test('log volume over its moving average (+1 keeps zero volume finite)', () => {
    close(logVolumeOverAverage([10, 30, 0], 2), [NaN_, Math.log(31 / 21), Math.log(1 / 16)]);
  });
});

describe('feature matrix', () => {
  const bars = realBars('AAPL', 300);

  test('drops exactly the warm-up rows, after which every feature is defined', () => {
    const columns = featureColumns(bars);
    assert.equal(columns.length, FEATURE_NAMES.length);
    assert.equal(FEATURE_WARMUP, 49, 'the 50-day moving average is the longest look-back');
    assert.ok(columns.some((c) => Number.isNaN(c[FEATURE_WARMUP - 1])), 'the row before the warm-up has an undefined feature');
    const matrix = buildFeatureMatrix(bars);
    assert.equal(matrix.offset, FEATURE_WARMUP);
    assert.equal(matrix.rows.length, bars.length - FEATURE_WARMUP);
    assert.ok(matrix.rows.every((row) => row.length === FEATURE_NAMES.length && row.every(Number.isFinite)));
    assert.deepEqual(matrix.rows[0], columns.map((c) => c[FEATURE_WARMUP]));
  });

  test('uses adjusted closes', () => {
    const scaled: Bar[] = bars.map((b) => ({ ...b, close: b.close * 3 }));
    assert.deepEqual(buildFeatureMatrix(scaled).rows, buildFeatureMatrix(bars).rows);
  });

  test('no look-ahead: changing every bar after day t leaves the features up to t unchanged', () => {
    const t = 200;
    const altered: Bar[] = bars.map((b, i) =>
      i <= t ? b : { ...b, adjClose: b.adjClose * (1 + 0.3 * Math.sin(i)), close: b.close * 2, volume: b.volume * 7 + 1 },
    );
    const original = buildFeatureMatrix(bars).rows;
    const changed = buildFeatureMatrix(altered).rows;
    const row = t - FEATURE_WARMUP;
    assert.deepEqual(changed.slice(0, row + 1), original.slice(0, row + 1));
    assert.notDeepEqual(changed[row + 1], original[row + 1], 'the alteration is visible from day t + 1 on');
  });

  test('a non-positive price is refused, not turned into a feature', () => {
    const broken: Bar[] = bars.map((b, i) => (i === 150 ? { ...b, adjClose: 0 } : b));
    assert.throws(() => buildFeatureMatrix(broken), { name: 'DataValidationError' });
  });
});
