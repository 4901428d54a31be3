import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rm } from 'node:fs/promises';
import { buildDataset, chronologicalSplitDates } from '../../src/ml/dataset.js';
import { evaluateForecasts } from '../../src/ml/evaluation/evaluate.js';
import { FEATURE_WARMUP } from '../../src/ml/features.js';
import { fitAndCalibrate, scoreSamples, trainModel } from '../../src/ml/training/train.js';
import type { TestPath } from '../../src/ml/evaluation/test-paths.js';
import type { ModelMetadata, TestForecastPoint } from '../../src/ml/types.js';
import { ModelStore } from '../../src/model-store/store.js';
import { tempDir } from '../model-store/fixtures.js';
import { realBars, testBackend, TINY_CONFIG } from './real-bars.js';

const near = (a: number, b: number, tolerance: number, what: string) => assert.ok(Math.abs(a - b) <= tolerance, `${what}: ${a} vs ${b}`);
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
/** Winkler score of a band in log-return percent around the previous close, written out independently of the implementation. */
const winkler = (previous: number, lower: number, upper: number, actual: number, miss: number): number => {
  const [l, u, y] = [Math.log(lower / previous), Math.log(upper / previous), Math.log(actual / previous)];
  return 100 * (u - l + (2 / miss) * (Math.max(0, l - y) + Math.max(0, y - u)));
};

let backend = '';
before(async () => {
  backend = await testBackend();
});

describe('every reported next-day figure is reproducible from the CSV and the stored held-out forecasts', () => {
  const bars = realBars('NVDA', 700);
  let dir = '';
  let metadata: ModelMetadata;
  let points: TestForecastPoint[];
  let paths: TestPath[];

  before(async () => {
    dir = await tempDir('calibrated');
    const trained = await trainModel({ key: 'nvda', series: [{ symbol: 'NVDA', bars }], config: TINY_CONFIG, backend, dataSource: 'csv' });
    const store = new ModelStore({ modelsDir: `${dir}/models`, scalersDir: `${dir}/scalers` });
    try {
      await store.save(trained);
    } finally {
      trained.model.dispose();
    }
    metadata = await store.readMetadata('nvda');
    points = await store.readTestForecasts('nvda', 'NVDA');
    paths = await store.readTestPaths('nvda', 'NVDA');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** RiskMetrics from the closes alone: EWMA (λ 0.94) over the last 250 daily log returns up to bar t (from the first bar with every feature), seeded with their mean square. */
  const riskMetricsVariance = (t: number): number => {
    const returns: number[] = [];
    for (let d = Math.max(FEATURE_WARMUP, t - 249); d <= t; d += 1) returns.push(Math.log((bars[d]?.adjClose as number) / (bars[d - 1]?.adjClose as number)));
    let v = mean(returns.map((r) => r * r));
    for (const r of returns) v = 0.94 * v + 0.06 * r * r;
    return v;
  };

  test('MAE of the served forecast, of the raw network and of naive; Brier of the probability and of the constant', () => {
    const e = metadata.evaluation;
    const index = new Map(bars.map((b, i) => [b.date, i]));
    const previous = points.map((p) => (bars[(index.get(p.date) as number) - 1]?.adjClose as number));
    const actual = points.map((p) => bars[index.get(p.date) as number]?.adjClose as number);
    near(mean(points.map((p, i) => Math.abs((actual[i] as number) - p.predicted))), e.mae, 1e-9, 'served MAE');
    near(mean(points.map((p, i) => Math.abs((actual[i] as number) - p.lstm_predicted))), e.lstm_mae, 1e-9, 'raw network MAE');
    near(mean(actual.map((a, i) => Math.abs(a - (previous[i] as number)))), e.naive_mae, 1e-9, 'naive MAE');
    const up = actual.map((a, i) => (a > (previous[i] as number) ? 1 : 0));
    near(mean(points.map((p, i) => (p.probability_up - (up[i] as number)) ** 2)), e.brier, 1e-12, 'Brier');
    near(mean(up.map((u) => (e.base_rate - u) ** 2)), e.base_rate_brier, 1e-12, 'constant Brier');
    near(mean(points.map((p, i) => ((p.probability_up > 0.5 ? 1 : 0) === up[i] ? 1 : 0))), e.hit_rate, 1e-12, 'served hit rate');
    near(mean(points.map((p, i) => ((p.lstm_predicted > (previous[i] as number) ? 1 : 0) === up[i] ? 1 : 0))), e.lstm_hit_rate as number, 1e-12, 'raw network hit rate');
    assert.ok(e.mae_ratio <= 1.002, `served ratio ${e.mae_ratio} (raw ${e.lstm_mae_ratio})`);
  });

  test('next-day coverage with its standard error, and interval scores of the served bands and of RiskMetrics', () => {
    const step1 = metadata.evaluation.horizons[0];
    assert.equal(step1?.steps, '1');
    const index = new Map(bars.map((b, i) => [b.date, i]));
    const inside = (p: TestForecastPoint, level: 80 | 95) => (level === 80 ? p.lower_80 <= p.actual && p.actual <= p.upper_80 : p.lower_95 <= p.actual && p.actual <= p.upper_95);
    near(mean(points.map((p) => (inside(p, 80) ? 1 : 0))), step1?.coverage_80 as number, 1e-12, 'coverage 80');
    near(mean(points.map((p) => (inside(p, 95) ? 1 : 0))), step1?.coverage_95 as number, 1e-12, 'coverage 95');
    near(mean(points.map((p) => winkler(p.naive, p.lower_80, p.upper_80, p.actual, 0.2))), step1?.interval_score_80 as number, 1e-9, 'interval score 80');
    near(mean(points.map((p) => winkler(p.naive, p.lower_95, p.upper_95, p.actual, 0.05))), step1?.interval_score_95 as number, 1e-9, 'interval score 95');
    const rm = points.map((p) => {
      const sd = Math.sqrt(riskMetricsVariance((index.get(p.date) as number) - 1));
      const band = (z: number) => [p.naive * Math.exp(-z * sd), p.naive * Math.exp(z * sd)] as const;
      const [l80, u80] = band(1.2815516);
      const [l95, u95] = band(1.959964);
      return { c80: l80 <= p.actual && p.actual <= u80 ? 1 : 0, s80: winkler(p.naive, l80, u80, p.actual, 0.2), s95: winkler(p.naive, l95, u95, p.actual, 0.05) };
    });
    // the coverage's standard error: Newey–West (Bartlett weights, 5 lags) of the centred hits, written out here
    const standardError = (level: 80 | 95, coverage: number): number => {
      const x = points.map((p) => (inside(p, level) ? 1 : 0) - coverage);
      const gamma = (j: number) => x.slice(j).reduce((s, v, t) => s + v * (x[t] as number), 0) / x.length;
      let longRun = gamma(0);
      for (let j = 1; j <= 5; j += 1) longRun += 2 * (1 - j / 6) * gamma(j);
      return Math.sqrt(x.length * longRun) / x.length;
    };
    near(standardError(80, step1?.coverage_80 as number), step1?.coverage_80_se as number, 1e-12, 'coverage 80 standard error');
    near(standardError(95, step1?.coverage_95 as number), step1?.coverage_95_se as number, 1e-12, 'coverage 95 standard error');
    near(mean(rm.map((r) => r.c80)), step1?.riskmetrics_coverage_80 as number, 1e-12, 'RiskMetrics coverage 80');
    near(mean(rm.map((r) => r.s80)), step1?.riskmetrics_interval_score_80 as number, 1e-6, 'RiskMetrics interval score 80');
    near(mean(rm.map((r) => r.s95)), step1?.riskmetrics_interval_score_95 as number, 1e-6, 'RiskMetrics interval score 95');
  });

  test('coverage and interval scores at the longer reported step, from the stored forecasts and the CSV closes', () => {
    const step = metadata.horizon;
    const score = metadata.evaluation.horizons.find((h) => h.steps === String(step));
    assert.ok(score, `a score for step ${step}`);
    const index = new Map(bars.map((b, i) => [b.date, i]));
    const cells = points.flatMap((p) => (p.horizons ?? []).filter((h) => h.step === step).map((h) => ({ p, h })));
    assert.equal(cells.length, score.count);
    for (const { p, h } of cells) {
      // the realised close `step` trading days after the forecast day, from the CSV
      near(h.actual, bars[(index.get(p.date) as number) - 1 + step]?.adjClose as number, 1e-9, `close ${step} days after ${p.date}`);
    }
    const inside = (h: NonNullable<TestForecastPoint['horizons']>[number], level: 80 | 95) => (level === 80 ? h.lower_80 <= h.actual && h.actual <= h.upper_80 : h.lower_95 <= h.actual && h.actual <= h.upper_95);
    near(mean(cells.map(({ h }) => (inside(h, 80) ? 1 : 0))), score.coverage_80, 1e-12, `coverage 80 at step ${step}`);
    near(mean(cells.map(({ h }) => (inside(h, 95) ? 1 : 0))), score.coverage_95, 1e-12, `coverage 95 at step ${step}`);
    near(mean(cells.map(({ p, h }) => winkler(p.naive, h.lower_80, h.upper_80, h.actual, 0.2))), score.interval_score_80, 1e-9, `interval score 80 at step ${step}`);
    near(mean(cells.map(({ p, h }) => winkler(p.naive, h.lower_95, h.upper_95, h.actual, 0.05))), score.interval_score_95, 1e-9, `interval score 95 at step ${step}`);
  });

  test('pooled 1..horizon coverage and interval scores, served and RiskMetrics, from the stored paths of every step and the CSV closes', () => {
    const pooled = metadata.evaluation.horizons.at(-1);
    assert.equal(pooled?.steps, `1..${metadata.horizon}`);
    assert.deepEqual(paths.map((p) => p.date), points.map((p) => p.date), 'one path per stored next-day forecast');
    const index = new Map(bars.map((b, i) => [b.date, i]));
    // the stored integers are step-to-step differences in 1e-7 log return
    const values = (differences: readonly number[]): number[] => differences.map(((sum) => (d: number) => (sum += d) * 1e-7)(0));
    const sums = { n: 0, c80: 0, c95: 0, s80: 0, s95: 0, rc80: 0, rc95: 0, rs80: 0, rs95: 0 };
    for (const [k, path] of paths.entries()) {
      const origin = (index.get(path.date) as number) - 1;
      const previous = bars[origin]?.adjClose as number;
      const daily = riskMetricsVariance(origin);
      // the stored next-day prices are the path's first step
      const [served, w80, w95] = [values(path.served), values(path.w80), values(path.w95)];
      near(previous * Math.exp((served[0] as number) - (w80[0] as number)), (points[k] as TestForecastPoint).lower_80, 1e-5, `lower 80 on ${path.date}`);
      near(previous * Math.exp(values(path.raw)[0] as number), (points[k] as TestForecastPoint).lstm_predicted, 1e-5, `network price on ${path.date}`);
      served.forEach((p, h) => {
        const target = bars[origin + h + 1];
        assert.ok(target !== undefined && target.date <= metadata.evaluation.test_to, `step ${h + 1} of ${path.date} realised inside the test split`);
        const actual = target.adjClose;
        const [lower80, upper80] = [previous * Math.exp(p - (w80[h] as number)), previous * Math.exp(p + (w80[h] as number))];
        const [lower95, upper95] = [previous * Math.exp(p - (w95[h] as number)), previous * Math.exp(p + (w95[h] as number))];
        const sd = Math.sqrt(daily * (h + 1));
        const [rl80, ru80] = [previous * Math.exp(-1.2815516 * sd), previous * Math.exp(1.2815516 * sd)];
        const [rl95, ru95] = [previous * Math.exp(-1.959964 * sd), previous * Math.exp(1.959964 * sd)];
        sums.n += 1;
        sums.c80 += lower80 <= actual && actual <= upper80 ? 1 : 0;
        sums.c95 += lower95 <= actual && actual <= upper95 ? 1 : 0;
        sums.rc80 += rl80 <= actual && actual <= ru80 ? 1 : 0;
        sums.rc95 += rl95 <= actual && actual <= ru95 ? 1 : 0;
        sums.s80 += winkler(previous, lower80, upper80, actual, 0.2);
        sums.s95 += winkler(previous, lower95, upper95, actual, 0.05);
        sums.rs80 += winkler(previous, rl80, ru80, actual, 0.2);
        sums.rs95 += winkler(previous, rl95, ru95, actual, 0.05);
      });
    }
    assert.equal(sums.n, pooled.count, 'every realised step of every forecast is stored');
    // bands are stored to 1e-7 of a log return: a close exactly on an edge could flip one cell, never more
    near(sums.c80 / sums.n, pooled.coverage_80, 1 / sums.n, 'pooled coverage 80');
    near(sums.c95 / sums.n, pooled.coverage_95, 1 / sums.n, 'pooled coverage 95');
    near(sums.s80 / sums.n, pooled.interval_score_80, 1e-4, 'pooled interval score 80');
    near(sums.s95 / sums.n, pooled.interval_score_95, 1e-4, 'pooled interval score 95');
    near(sums.rc80 / sums.n, pooled.riskmetrics_coverage_80, 1e-12, 'pooled RiskMetrics coverage 80');
    near(sums.rc95 / sums.n, pooled.riskmetrics_coverage_95, 1e-12, 'pooled RiskMetrics coverage 95');
    near(sums.rs80 / sums.n, pooled.riskmetrics_interval_score_80, 1e-6, 'pooled RiskMetrics interval score 80');
    near(sums.rs95 / sums.n, pooled.riskmetrics_interval_score_95, 1e-6, 'pooled RiskMetrics interval score 95');
    near(metadata.evaluation.interval_coverage_80, sums.c80 / sums.n, 1 / sums.n, 'headline 80 % coverage is the pooled one');
  });

  test('the reliability table covers every test day and its observed shares are the CSV’s', () => {
    const table = metadata.evaluation.reliability;
    assert.equal(table.reduce((s, b) => s + b.count, 0), points.length);
    const ups = points.filter((p) => p.actual > p.naive).length;
    near(table.reduce((s, b) => s + b.observed * b.count, 0), ups, 1e-9, 'observed up days');
  });
});

describe('every calibration choice is made before the test split', () => {
  test('changing every test-split close leaves the whole calibration (band rule and its validation evidence included) unchanged', async () => {
    const bars = realBars('MSFT', 900);
    const series = [{ symbol: 'MSFT', bars }];
    const split = chronologicalSplitDates(series, 0.7, 0.15);
    // the test split's closes doubled and jittered: a different world after testFrom
    const altered = [{ symbol: 'MSFT', bars: bars.map((b, i) => (b.date >= split.testFrom ? { ...b, close: b.close * (2 + (i % 3) / 10), adjClose: b.adjClose * (2 + (i % 3) / 10) } : b)) }];
    const [a, b] = [await fitAndCalibrate('msft', series, TINY_CONFIG, split), await fitAndCalibrate('msft', altered, TINY_CONFIG, split)];
    try {
      assert.deepEqual(b.calibration, a.calibration);
      assert.ok(a.calibration.band_selection.candidates.length > 0, 'the band rule was chosen on validation evidence');
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
  });
});

describe('cross-symbol: calibrated on NVDA, evaluated on AAPL it never saw', () => {
  test('the served forecast stays within 0.2 % of naive, the probability no worse than the constant, the bands cover', async () => {
    const nvda = [{ symbol: 'NVDA', bars: realBars('NVDA', 1200) }];
    const calibrated = await fitAndCalibrate('nvda', nvda, TINY_CONFIG, chronologicalSplitDates(nvda, 0.7, 0.15));
    try {
      const aapl = [{ symbol: 'AAPL', bars: realBars('AAPL', 1500) }];
      const unseen = buildDataset(aapl, TINY_CONFIG.window, TINY_CONFIG.horizon, chronologicalSplitDates(aapl, 0.7, 0.15)).test;
      const e = evaluateForecasts(scoreSamples(calibrated, unseen).forecasts);
      assert.ok(e.test_days > 200);
      assert.ok(e.mae_ratio <= 1.002, `served ${e.mae_ratio}, raw ${e.lstm_mae_ratio}`);
      assert.ok(e.brier <= e.base_rate_brier * 1.01, `Brier ${e.brier} vs constant ${e.base_rate_brier}`);
      const [step1] = e.horizons;
      const pooled = e.horizons.at(-1);
      // about 225 days: ±8 points is three binomial standard deviations around 80 %
      near(step1?.coverage_80 as number, 0.8, 0.08, 'next-day 80 % coverage');
      near(step1?.coverage_95 as number, 0.95, 0.05, 'next-day 95 % coverage');
      near(pooled?.coverage_80 as number, 0.8, 0.1, 'pooled 80 % coverage');

      // The adaptive bands replay serving: with a forced non-zero step (the validated one may be 0), the
      // band of day d at step h carries every outcome at step h of a forecast made on day k once it
      // matured (k + h <= d), and no other. Replayed here from the forecasts' own misses: the log ratio of
      // the 80 % to the 95 % half-width is the calibrated one plus the two multipliers' difference, which
      // holds whatever scales the bands (the volatility model cancels).
      const rate = 0.1;
      const forced = { ...calibrated, calibration: { ...calibrated.calibration, adaptive_rule: { rate, divide_by_step: false } } };
      const served = scoreSamples(forced, unseen).forecasts;
      const { q80, q95 } = calibrated.calibration.intervals;
      const logs = Array.from({ length: TINY_CONFIG.horizon }, () => ({ l80: 0, l95: 0 }));
      let moved = 0;
      served.forEach((f, d) => {
        // outcomes maturing on day d: step h (1-based) of the forecast made h days before
        logs.forEach((state, i) => {
          const k = d - (i + 1);
          const origin = served[k];
          const a = origin?.actual[i];
          if (origin === undefined || a === undefined || Number.isNaN(a)) return;
          const miss = Math.abs(a - (origin.predicted[i] as number));
          state.l80 += rate * ((miss > (origin.w80[i] as number) ? 1 : 0) - 0.2);
          state.l95 += rate * ((miss > (origin.w95[i] as number) ? 1 : 0) - 0.05);
        });
        logs.forEach((state, i) => {
          const observed = Math.log((f.w80[i] as number) / (f.w95[i] as number)) - Math.log((q80[i] as number) / (q95[i] as number));
          near(observed, state.l80 - state.l95, 1e-9, `adaptive multipliers on day ${d} at step ${i + 1}`);
          moved += Math.abs(state.l80 - state.l95) > 1e-3 ? 1 : 0;
        });
      });
      assert.ok(moved > served.length, `the forced step moved the bands (${moved} cells)`);
    } finally {
      calibrated.model.dispose();
    }
  });
});
