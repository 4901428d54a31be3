import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildDataset, chronologicalSplitDates, type Sample } from '../../../src/ml/dataset.js';
import { calibrateIntervals, conformalQuantile, intervalHalfWidths } from '../../../src/ml/evaluation/conformal.js';
import { beatsNaive, evaluateForecasts, type ScoredForecast } from '../../../src/ml/evaluation/evaluate.js';
import { sumVariance } from '../../../src/ml/evaluation/significance.js';
import {
  correlation,
  dieboldMarianoPValue,
  directionalHitRate,
  meanAbsoluteError,
  meanAbsolutePercentageError,
  normalCdf,
  rootMeanSquaredError,
  upShare,
} from '../../../src/ml/evaluation/metrics.js';
import { createRng } from '../../../src/ml/random.js';
import { calibratedForecasts } from '../../helpers/calibrated-forecasts.js';
import { standardGaussian as gaussian } from '../../helpers/fat-tails.js';
import { realBars } from '../../ml/real-bars.js';

const near = (a: number, b: number, tolerance = 1e-12) => assert.ok(Math.abs(a - b) <= tolerance, `${a} != ${b}`);

describe('point metrics', () => {
  test('MAE, RMSE and MAPE by hand', () => {
    near(meanAbsoluteError([100, 110], [90, 110]), 5);
    near(rootMeanSquaredError([100, 110], [90, 110]), Math.sqrt(50));
    near(meanAbsolutePercentageError([100, 110], [90, 110]), 5);
    assert.throws(() => meanAbsoluteError([1], [1, 2]), RangeError);
    assert.throws(() => meanAbsoluteError([], []), RangeError);
  });

  test('directional hit rate and the always-up share', () => {
    near(directionalHitRate([1, -1, 1, -1], [1, 1, -1, -1]), 0.5);
    near(directionalHitRate([0.1, -0.2, 0.3], [0.2, -0.1, 0.4]), 1);
    near(upShare([1, -1, 1, 0]), 0.5);
  });

  test('correlation; a forecast with no movement correlates 0', () => {
    near(correlation([1, 2, 3], [2, 4, 6]), 1);
    near(correlation([1, 2, 3], [3, 2, 1]), -1);
    assert.equal(correlation([0, 0, 0], [1, -1, 2]), 0);
  });
});

describe('split-conformal intervals', () => {
  test('finite-sample corrected quantile', () => {
    const residuals = [9, 1, 8, 2, 7, 3, 6, 4, 5];
    assert.equal(conformalQuantile(residuals, 0.8), 8); // ceil(10 * 0.8) = 8th smallest
    assert.equal(conformalQuantile(residuals, 0.95), 9); // rank 10 > n: the largest
    assert.equal(conformalQuantile([...Array(99).keys()].map((i) => i + 1), 0.8), 80);
  });

  test('calibrated on one sample, covers about 80% / 95% of a fresh one per step, in calm and turbulent regimes alike', () => {
    const rng = createRng(7);
    // residual spread proportional to each step's forecast volatility, which switches between regimes
    const scales = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? [0.01, 0.03] : [0.04, 0.12]));
    const draw = (rows: readonly number[][]) => rows.map(([a, b]) => [gaussian(rng) * (a as number), gaussian(rng) * (b as number)]);
    const zeros = (n: number) => Array.from({ length: n }, () => [0, 0]);
    const calibrationScales = scales(3000);
    const calibration = calibrateIntervals(draw(calibrationScales), zeros(3000), calibrationScales);
    assert.equal(calibration.scaled_by, 'volatility_forecast');
    near(calibration.q80[0] as number, 1.2816, 0.08); // the normal 80% two-sided quantile
    near(calibration.q80[1] as number, 1.2816, 0.08);
    for (const regime of [[0.01, 0.03], [0.04, 0.12]]) {
      const rows = Array.from({ length: 3000 }, () => regime);
      const fresh = draw(rows);
      for (const [which, target, tolerance] of [['w80', 0.8, 0.03], ['w95', 0.95, 0.015]] as const) {
        const inside = fresh.filter((cells, i) => cells.every((c, h) => Math.abs(c) <= (intervalHalfWidths(calibration, rows[i] as number[])[which][h] as number))).length;
        // both steps of a row are independent draws: the joint share is the product of the per-step ones
        near(inside / 3000, target * target, tolerance * 2);
      }
    }
  });

  test('half-widths are quantile × forecast volatility × the adaptive multiplier', () => {
    const intervals = { q80: [2, 3], q95: [4, 5], scaled_by: 'volatility_forecast' } as const;
    assert.deepEqual(intervalHalfWidths(intervals, [0.5, 1]), { w80: [1, 3], w95: [2, 5] });
    const adaptive = { log_scale_80: [Math.log(2), 0], log_scale_95: [0, Math.log(0.5)], outcomes: 3 };
    assert.deepEqual(intervalHalfWidths(intervals, [0.5, 1], adaptive), { w80: [2, 3], w95: [2, 2.5] });
  });

  test('unavailable (NaN) steps are skipped when calibrating', () => {
    const calibration = calibrateIntervals([[0.01, Number.NaN], [0.02, 0.5]], [[0, 0], [0, 0]], [[1, 1], [1, 1]]);
    assert.deepEqual(calibration.q80, [0.02, 0.5]);
  });
});

describe('test-split evaluation against baselines on the same days', () => {
  const bars = realBars('AAPL', 400);
  const series = [{ symbol: 'AAPL', bars }];
  const dataset = buildDataset(series, 10, 5, chronologicalSplitDates(series, 0.7, 0.15));
  const ones = [1, 1, 1, 1, 1].map((v, h) => v * 1e-4 * (h + 1));
  const scored = (predict: (s: Sample, i: number) => number[]): ScoredForecast[] =>
    dataset.test.map((s, i) => ({
      date: s.nextDate,
      lastPrice: s.lastPrice,
      driftPerDay: s.driftPerDay,
      movingAverage: s.movingAverage,
      predicted: predict(s, i),
      raw: predict(s, i),
      actual: s.targets,
      w80: [0.02, 0.03, 0.04, 0.05, 0.06],
      w95: [0.04, 0.05, 0.06, 0.07, 0.08],
      variance: ones,
      ewmaVariance: ones,
      garchVariance: ones,
      volatilityModel: 'ewma',
      probabilityUp: 0.5,
      baseRate: 0.5,
    }));
  const index = new Map(bars.map((b, i) => [b.date, i]));
  const testDays = dataset.test.map((s) => index.get(s.nextDate) as number);
  const handNaiveMae = testDays.reduce((sum, d) => sum + Math.abs((bars[d]?.adjClose as number) - (bars[d - 1]?.adjClose as number)), 0) / testDays.length;

  test('naive MAE is the mean absolute day-to-day change on the test days', () => {
    const evaluation = evaluateForecasts(scored(() => [0.001, 0, 0, 0, 0]));
    near(evaluation.naive_mae, handNaiveMae, 1e-9);
    assert.equal(evaluation.test_days, dataset.test.length);
    assert.equal(evaluation.test_from, dataset.test[0]?.nextDate);
    assert.equal(evaluation.test_to, bars.at(-1)?.date);
    const ups = testDays.filter((d) => (bars[d]?.adjClose as number) > (bars[d - 1]?.adjClose as number)).length;
    near(evaluation.always_up_hit_rate, ups / testDays.length);
    assert.ok(evaluation.drift_mae > 0 && evaluation.moving_average_mae > 0);
  });

  test("the served hit rate scores the side the served probability favours; the raw network's is beside it", () => {
    // probability 0.5 every day favours no side and counts as a down call, as the tracking store scores it
    const e = evaluateForecasts(scored(() => [0.001, 0, 0, 0, 0]));
    near(e.hit_rate, 1 - e.always_up_hit_rate);
    near(e.lstm_hit_rate ?? Number.NaN, e.always_up_hit_rate, 1e-12);
  });

  test('the lag-1 copy model is exposed: ratio 1, no change correlation, does not beat naive', () => {
    const copy = evaluateForecasts(scored(() => [0, 0, 0, 0, 0]));
    assert.equal(copy.mae_ratio, 1);
    assert.equal(copy.change_correlation, 0);
    assert.equal(beatsNaive(copy), false);
    // a price-level model that learned "tomorrow ≈ today" plus noise: looks accurate, explains nothing
    const rng = createRng(3);
    const nearCopy = evaluateForecasts(scored(() => [(rng.next() - 0.5) * 1e-4, 0, 0, 0, 0]));
    assert.ok(Math.abs(nearCopy.mae_ratio - 1) < 0.02, `mae_ratio ${nearCopy.mae_ratio}`);
    assert.ok(Math.abs(nearCopy.change_correlation) < 0.25, `correlation ${nearCopy.change_correlation}`);
  });

  test('an oracle scores perfectly, so the metrics can tell good from bad', () => {
    const oracle = evaluateForecasts(scored((s) => s.targets.map((r) => (Number.isNaN(r) ? 0 : r))));
    near(oracle.mae, 0, 1e-9);
    assert.equal(oracle.lstm_hit_rate, 1);
    near(oracle.change_correlation, 1, 1e-9);
    assert.equal(oracle.interval_coverage_80, 1);
    assert.equal(beatsNaive(oracle), true);
    assert.ok(oracle.naive_dm_p_value < 1e-6);
  });

  test('a MAE ratio just under 1 is noise, not a win: beats_naive needs a significant difference', () => {
    // random tiny moves: ratio around 1 (either side), p-value far from significant
    const rng = createRng(11);
    const noise = evaluateForecasts(scored(() => [(rng.next() - 0.5) * 2e-3, 0, 0, 0, 0]));
    assert.ok(noise.naive_dm_p_value > 0.05, `p ${noise.naive_dm_p_value}`);
    assert.equal(beatsNaive(noise), false);
  });
});

describe('coverage standard errors', () => {
  test('next day: the binomial standard error, and calibrated bands land within about two of them of their level', () => {
    const evaluation = evaluateForecasts(calibratedForecasts(4000, 20, 5));
    const first = evaluation.horizons.find((s) => s.steps === '1');
    near(first?.coverage_80_se as number, Math.sqrt((0.8 * 0.2) / 4000), 0.001);
    near(first?.coverage_95_se as number, Math.sqrt((0.95 * 0.05) / 4000), 0.0005);
    const z = [1, 2, 3, 4, 6, 7, 8, 9].flatMap((seed) => {
      const score = evaluateForecasts(calibratedForecasts(600, 5, seed)).horizons[0] as NonNullable<(typeof evaluation.horizons)[number]>;
      return [(score.coverage_80 - 0.8) / (score.coverage_80_se as number), (score.coverage_95 - 0.95) / (score.coverage_95_se as number)];
    });
    assert.ok(z.every((v) => Math.abs(v) < 3) && z.filter((v) => Math.abs(v) > 2).length <= 2, z.map((v) => v.toFixed(2)).join(' '));
  });

  test('several symbols on the same days: symbols that miss together are not counted as independent evidence', () => {
    // the same symbol twice (perfectly correlated): twice the forecasts, the same standard error as one
    const one = evaluateForecasts(calibratedForecasts(1000, 5, 4)).horizons[0];
    const twice = evaluateForecasts([...calibratedForecasts(1000, 5, 4), ...calibratedForecasts(1000, 5, 4)]).horizons[0];
    near(twice?.coverage_80_se as number, one?.coverage_80_se as number, 1e-12);
    near(twice?.coverage_95_se as number, one?.coverage_95_se as number, 1e-12);
  });

  test('pooled over overlapping steps, Newey–West understates the error on a few hundred days, so none is reported', () => {
    // 600 days of 20-step outcomes: the pooled coverage strays from its level by far more than such an estimate says
    const z = [1, 2, 3, 4, 6, 7, 8, 9].map((seed) => {
      const forecasts = calibratedForecasts(600, 20, seed);
      const pooled = evaluateForecasts(forecasts).horizons.at(-1) as NonNullable<ReturnType<typeof evaluateForecasts>['horizons'][number]>;
      // per day: its covered known outcomes less 80 % of them (outcomes after the split's last day are unknown)
      const known = forecasts.map((f) => f.actual.filter((a) => !Number.isNaN(a)).length);
      const days = forecasts.map((f, d) => f.actual.filter((a, h) => Math.abs(a) <= (f.w80[h] as number)).length - 0.8 * (known[d] as number));
      assert.equal(pooled.coverage_80_se, undefined);
      return (pooled.coverage_80 - 0.8) / (Math.sqrt(sumVariance(days, 40)) / known.reduce((a, n) => a + n, 0));
    });
    const spread = Math.sqrt(z.reduce((s, v) => s + v * v, 0) / z.length);
    assert.ok(spread > 1.3, `root mean square z ${spread.toFixed(2)}: ${z.map((v) => v.toFixed(2)).join(' ')}`);
  });
});

describe('Diebold–Mariano p-value', () => {
  test('normal CDF matches tabulated values', () => {
    near(normalCdf(0), 0.5, 1e-7);
    near(normalCdf(1.959964), 0.975, 1e-6);
    near(normalCdf(-1.644854), 0.05, 1e-6);
  });

  test('hand-computed statistic on a small series', () => {
    const actual = [10, 11, 12, 13];
    const model = [10.5, 11, 12.5, 13];       // |e| = .5, 0, .5, 0
    const baseline = [11, 12, 11, 14];        // |e| = 1, 1, 1, 1
    // d = -.5, -1, -.5, -1: mean -.75, sample sd .288675, n 4 → z = -.75 / (.288675 / 2) = -5.196
    near(dieboldMarianoPValue(actual, model, baseline), normalCdf(-5.196152), 1e-6);
    assert.equal(dieboldMarianoPValue(actual, baseline, baseline), 1);
  });
});
