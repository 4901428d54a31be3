import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyCalibration, DEFAULT_BAND_RULE, sameRule, selectBandRule, serveSequentially, STATIC_STUDENT_T_RULE, type CalibrationSeries } from '../../../src/ml/calibrate.js';
import { covers, neutralAdaptiveState, updateAdaptiveState } from '../../../src/ml/evaluation/adaptive.js';
import { baseRate, brierScore, fitDirectionModel, probabilityUp, reliabilityTable } from '../../../src/ml/evaluation/calibration.js';
import { calibrateIntervals, conformalQuantile, SHRINKAGE_OUTCOMES, shrunkQuantiles } from '../../../src/ml/evaluation/conformal.js';
import { evaluateForecasts, Z_80, Z_95, type ScoredForecast } from '../../../src/ml/evaluation/evaluate.js';
import { evidenceFactor, fitShrinkage, shrinkForecast } from '../../../src/ml/evaluation/shrinkage.js';
import { studentTQuantile } from '../../../src/ml/evaluation/student-t.js';
import { fitGarch, horizonVariances, meanQlike, qlike, realisedVariances, RISKMETRICS, type VolatilityObservation } from '../../../src/ml/evaluation/volatility.js';
import { createRng } from '../../../src/ml/random.js';
import { cumulativeMoves } from '../../helpers/calibrated-forecasts.js';
import { standardGaussian as gaussian, unitVarianceT } from '../../helpers/fat-tails.js';
import type { Calibration } from '../../../src/ml/types.js';

const near = (a: number, b: number, tolerance = 1e-12) => assert.ok(Math.abs(a - b) <= tolerance, `${a} != ${b} (±${tolerance})`);

/** Daily returns of a GARCH(1,1) with these parameters and long-run variance. */
function simulateGarch(n: number, alpha: number, beta: number, longRun: number, seed: number): number[] {
  const rng = createRng(seed);
  let variance = longRun;
  const out: number[] = [];
  for (let t = 0; t < n; t += 1) {
    const r = Math.sqrt(variance) * gaussian(rng);
    out.push(r);
    variance = (1 - alpha - beta) * longRun + alpha * r * r + beta * variance;
  }
  return out;
}

describe('volatility forecasts', () => {
  test('EWMA by hand: seeded with the mean square, λ = 0.94, random-walk scaling over the horizon', () => {
    const returns = [0.01, -0.02, 0.03];
    let v = (1e-4 + 4e-4 + 9e-4) / 3;
    for (const r of returns) v = 0.94 * v + 0.06 * r * r;
    const variances = horizonVariances(RISKMETRICS, returns, 3);
    near(variances[0] as number, v, 1e-15);
    near(variances[2] as number, 3 * v, 1e-15);
  });

  test('GARCH: after a shock the forecast daily variance decays towards the trailing long-run level at rate alpha + beta', () => {
    const calm = Array.from({ length: 249 }, (_, i) => (i % 2 === 0 ? 0.01 : -0.01));
    const returns = [...calm, 0.08];
    const model = { kind: 'garch', alpha: 0.1, beta: 0.85 } as const;
    const cumulative = horizonVariances(model, returns, 40);
    const daily = cumulative.map((c, h) => c - (h === 0 ? 0 : (cumulative[h - 1] as number)));
    const longRun = returns.reduce((s, r) => s + r * r, 0) / returns.length;
    for (let h = 1; h < 40; h += 1) {
      near((daily[h] as number) - longRun, 0.95 * ((daily[h - 1] as number) - longRun), 1e-15);
    }
    assert.ok((daily[0] as number) > 3 * longRun, 'the shock raises tomorrow’s variance');
    // only the trailing year counts: older returns do not change the forecast
    assert.deepEqual(horizonVariances(model, [0.5, 0.5, ...Array.from({ length: 250 }, () => 0.01)], 3), horizonVariances(model, Array.from({ length: 250 }, () => 0.01), 3));
  });

  test('fitGarch recovers the parameters of simulated GARCH returns and beats EWMA on fresh ones', () => {
    const returns = simulateGarch(3300, 0.1, 0.85, 1e-4, 5);
    const observe = (from: number, to: number): VolatilityObservation[] =>
      Array.from({ length: to - from }, (_, k) => ({ trailingReturns: returns.slice(from + k - 250, from + k), nextReturn: returns[from + k] as number }));
    const fitted = fitGarch(observe(250, 2300));
    assert.ok(fitted.alpha >= 0.06 && fitted.alpha <= 0.15, `alpha ${fitted.alpha}`);
    assert.ok(fitted.beta >= 0.8 && fitted.beta <= 0.9, `beta ${fitted.beta}`);
    const fresh = observe(2300, 3300);
    const loss = (model: typeof fitted | typeof RISKMETRICS) => meanQlike(fresh.map((o) => horizonVariances(model, o.trailingReturns, 1)), fresh.map((o) => [o.nextReturn ** 2]));
    assert.ok(loss(fitted) < loss(RISKMETRICS), `GARCH ${loss(fitted)} vs EWMA ${loss(RISKMETRICS)}`);
  });

  test('QLIKE is lowest at the true variance; realised variance sums squared daily returns, NaN beyond the data', () => {
    const rng = createRng(9);
    const squares = Array.from({ length: 20000 }, () => (0.02 * gaussian(rng)) ** 2);
    const mean = (v: number) => squares.reduce((s, x) => s + qlike(v, x), 0) / squares.length;
    assert.ok(mean(4e-4) < mean(3e-4) && mean(4e-4) < mean(5.5e-4));
    const realised = realisedVariances([0.01, 0.03, Number.NaN]);
    near(realised[0] as number, 1e-4, 1e-18);
    near(realised[1] as number, 1e-4 + 4e-4, 1e-18);
    assert.ok(Number.isNaN(realised[2]));
  });
});

describe('shrinkage towards naive', () => {
  test('the evidence factor is 0 until |t| > 1.96, then rises towards 1', () => {
    assert.equal(evidenceFactor(1.5), 0);
    assert.equal(evidenceFactor(-1.9), 0);
    near(evidenceFactor(2 * 1.959964), 0.75, 1e-9);
    assert.equal(evidenceFactor(Number.NaN), 0);
  });

  test('no skill: the factor is (almost) 0, so the served forecast is naive plus almost nothing', () => {
    const rng = createRng(4);
    const predicted = Array.from({ length: 800 }, () => [gaussian(rng) * 0.01, gaussian(rng) * 0.02]);
    const actual = Array.from({ length: 800 }, () => [gaussian(rng) * 0.02, gaussian(rng) * 0.03]);
    const factors = fitShrinkage(actual, predicted);
    assert.ok(factors.every((k) => k < 0.05), JSON.stringify(factors));
    assert.deepEqual(shrinkForecast([0, 0.5], [0.01, 0.02]), [0, 0.01]);
  });

  test('skill is kept: the factor approaches the validated slope; an anti-informative network gets 0; never above 1', () => {
    const rng = createRng(6);
    const predicted = Array.from({ length: 1500 }, () => [gaussian(rng) * 0.01]);
    const half = predicted.map(([p]) => [0.5 * (p as number) + 0.002 * gaussian(rng)]);
    near(fitShrinkage(half, predicted)[0] as number, 0.5, 0.03);
    assert.deepEqual(fitShrinkage(half.map(([a]) => [-(a as number)]), predicted), [0]);
    assert.deepEqual(fitShrinkage(predicted.map(([p]) => [3 * (p as number)]), predicted), [1]);
  });
});

describe('probability of an up day', () => {
  test('base rate is a Laplace estimate; Brier and reliability by hand', () => {
    near(baseRate([0.1, -0.1, 0.2]), 3 / 5);
    near(brierScore([0.5, 0.8], [true, false]), (0.25 + 0.64) / 2);
    const table = reliabilityTable([0.2, 0.2, 0.8, 0.8], [false, true, true, true], 2);
    assert.deepEqual(table.map((b) => [b.mean_predicted, b.observed, b.count]), [[0.2, 0.5, 2], [0.8, 1, 2]]);
    assert.equal(reliabilityTable([0.55, 0.55, 0.55], [true, false, true]).length, 1, 'a constant forecast is one bin');
  });

  test('no skill on validation: the probability is the base rate, so its Brier equals the constant forecast’s', () => {
    const rng = createRng(12);
    const predicted = Array.from({ length: 700 }, () => gaussian(rng) * 0.01);
    const actual = Array.from({ length: 700 }, () => gaussian(rng) * 0.02);
    const model = fitDirectionModel(actual, predicted, 0.54);
    assert.equal(model.slope, 0);
    assert.ok(Math.abs(model.slope_t) < 1.96);
    near(probabilityUp(model, 0.05), 0.54, 1e-12);
  });

  test('skill on validation: a positive slope, and a lower Brier than the constant on fresh days', () => {
    const rng = createRng(13);
    const draw = (n: number) => {
      const predicted = Array.from({ length: n }, () => gaussian(rng) * 0.01);
      return { predicted, actual: predicted.map((p) => p + gaussian(rng) * 0.01) };
    };
    const validation = draw(700);
    const model = fitDirectionModel(validation.actual, validation.predicted, 0.5);
    assert.ok(model.slope > 0 && model.slope <= model.fitted_slope && model.slope_t > 1.96, JSON.stringify(model));
    const fresh = draw(2000);
    const ups = fresh.actual.map((a) => a > 0);
    assert.ok(brierScore(fresh.predicted.map((p) => probabilityUp(model, p)), ups) < brierScore(fresh.predicted.map(() => 0.5), ups));
  });
});

/** A rule like one validation may choose: rate 0.03, divided by the horizon step. */
const RULE = { rate: 0.03, divide_by_step: true } as const;
const ADAPTIVE_RATE = RULE.rate;

describe('adaptive conformal update', () => {
  test('by hand: a miss widens, a hit narrows, by rate / step; the input is not modified', () => {
    const start = neutralAdaptiveState(2);
    const missed = updateAdaptiveState(start, { step: 1, covered_80: false, covered_95: true }, RULE);
    near(missed.log_scale_80[0] as number, ADAPTIVE_RATE * 0.8);
    near(missed.log_scale_95[0] as number, -ADAPTIVE_RATE * 0.05);
    assert.equal(missed.outcomes, 1);
    const second = updateAdaptiveState(missed, { step: 2, covered_80: true, covered_95: false }, RULE);
    near(second.log_scale_80[1] as number, (-ADAPTIVE_RATE * 0.2) / 2);
    near(second.log_scale_95[1] as number, (ADAPTIVE_RATE * 0.95) / 2);
    assert.deepEqual(start, neutralAdaptiveState(2));
    assert.throws(() => updateAdaptiveState(start, { step: 3, covered_80: true, covered_95: true }, RULE), RangeError);
    assert.equal(covers(1, 2, 2), true);
    assert.equal(covers(1, 2, 2.0001), false);
  });

  test('after a regime change the band recovers its coverage', () => {
    // calibrated for unit-variance residuals; the world turns twice as volatile
    const rng = createRng(21);
    let state = neutralAdaptiveState(1);
    const inside: boolean[] = [];
    for (let t = 0; t < 6000; t += 1) {
      const residual = 2 * gaussian(rng);
      const w80 = Z_80 * Math.exp(state.log_scale_80[0] as number);
      const w95 = 1.959964 * Math.exp(state.log_scale_95[0] as number);
      inside.push(Math.abs(residual) <= w80);
      state = updateAdaptiveState(state, { step: 1, covered_80: Math.abs(residual) <= w80, covered_95: Math.abs(residual) <= w95 }, RULE);
    }
    const late = inside.slice(-3000);
    near(late.filter(Boolean).length / late.length, 0.8, 0.03);
    near(Math.exp(state.log_scale_80[0] as number), 2, 0.4);
  });

  test('the default rule’s step (0.03 ÷ h) brings next-day coverage back within a year of the volatility doubling; without a step it stays low', () => {
    // 40 worlds calibrated for unit-variance residuals that turn twice as volatile; coverage over the second half of
    // the first trading year after the change
    const secondHalf = (rule: { rate: number; divide_by_step: boolean }): number => {
      let inside = 0;
      for (let seed = 1; seed <= 40; seed += 1) {
        const rng = createRng(seed);
        let state = neutralAdaptiveState(1);
        for (let t = 0; t < 252; t += 1) {
          const residual = 2 * gaussian(rng);
          const [w80, w95] = [Z_80 * Math.exp(state.log_scale_80[0] as number), Z_95 * Math.exp(state.log_scale_95[0] as number)];
          if (t >= 126 && Math.abs(residual) <= w80) inside += 1;
          state = updateAdaptiveState(state, { step: 1, covered_80: Math.abs(residual) <= w80, covered_95: Math.abs(residual) <= w95 }, rule);
        }
      }
      return inside / (40 * 126);
    };
    const adapted = secondHalf(DEFAULT_BAND_RULE);
    const fixed = secondHalf(STATIC_STUDENT_T_RULE);
    console.log(`80 % band, sessions 127-252 after volatility doubled: ${(100 * adapted).toFixed(1)} % with the default's step, ${(100 * fixed).toFixed(1)} % without`);
    near(adapted, 0.8, 0.04);
    near(fixed, 0.48, 0.03);
  });

  test('serveSequentially applies an outcome only once it has matured', () => {
    const calibration: Omit<Calibration, 'adaptive'> = {
      shrinkage: [0, 0],
      volatility: RISKMETRICS,
      volatility_selection: { garch: { kind: 'garch', alpha: 0.05, beta: 0.9 }, ewma_qlike: 0, garch_qlike: 0 },
      intervals: { q80: [1, 1], q95: [2, 2], scaled_by: 'volatility_forecast' },
      direction: { base_rate: 0.5, scale: 1, fitted_slope: 0, slope_t: 0, slope: 0 },
      adaptive_rule: RULE,
      interval_window: 'validation',
      band_selection: { fit_days: 0, selection_days: 0, candidates: [] },
    };
    const returns = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 0.01 : -0.01));
    // every realised move is far outside the bands: each matured outcome is a miss
    const day = (d: number) => ({ day: d, raw: [0.001, 0.002], returns, actual: [0.5, 0.5] });
    const { outputs, final } = serveSequentially(calibration, [day(0), day(1), day(2)]);
    const neutral = applyCalibration(calibration, [0.001, 0.002], returns);
    assert.deepEqual(outputs[0]?.w80, neutral.w80, 'nothing has matured on the first day');
    near((outputs[1]?.w80[0] as number) / (neutral.w80[0] as number), Math.exp(ADAPTIVE_RATE * 0.8), 1e-12);
    assert.equal(outputs[1]?.w80[1], neutral.w80[1], 'day 0’s 2-step outcome matures on day 2, not day 1');
    near((outputs[2]?.w80[1] as number) / (neutral.w80[1] as number), Math.exp((ADAPTIVE_RATE * 0.8) / 2), 1e-12);
    assert.deepEqual(outputs[0]?.served, [0, 0], 'zero shrinkage serves naive');
    assert.equal(final.outcomes, 6, 'every outcome has matured at the end');
  });
});

describe('band rule chosen on validation', () => {
  // Every day the same trailing returns, so every volatility model forecasts the same σ = 1 %; outcomes are
  // Gaussian with σ × `spread`: spread 1 is what the volatility model says, spread 3 a symbol with wider moves.
  const returns = Array.from({ length: 250 }, (_, i) => (i % 2 === 0 ? 0.01 : -0.01));
  // `nu`: innovations from the unit-variance Student-t with these degrees of freedom (0: Gaussian)
  function symbolDays(spread: number, seed: number, validationDays = 400, nu = 0): CalibrationSeries {
    const rng = createRng(seed);
    const day = (index: number) => {
      const first = 0.01 * spread * unitVarianceT(rng, nu);
      return { day: index, raw: [0, 0], returns, actual: [first, first + 0.01 * spread * unitVarianceT(rng, nu)] };
    };
    // training days precede the validation days, drawn the same way
    const training = Array.from({ length: 400 }, (_, i) => day(i - 400));
    return { training, validation: Array.from({ length: validationDays }, (_, i) => day(i)) };
  }
  const base = { volatility: RISKMETRICS, direction: { base_rate: 0.5, scale: 1, fitted_slope: 0, slope_t: 0, slope: 0 } };
  const unadapted = (selection: ReturnType<typeof selectBandRule>['selection'], window: string) =>
    selection.candidates.find((c) => c.window === window && c.rate === 0) as (typeof selection.candidates)[number];
  const plainQuantiles = (selection: ReturnType<typeof selectBandRule>['selection']) => unadapted(selection, 'validation');

  test('one symbol: its later validation days are banded by quantiles of its earlier ones, and cover about 80 %', () => {
    // 2,000 days: 1,199 fit and 800 scored keep sampling noise in coverage near ±0.02
    const { selection, window, rule } = selectBandRule([symbolDays(3, 1, 2000)], base, 2);
    assert.equal(selection.leave_series_out, false);
    near(plainQuantiles(selection).coverage_80, 0.8, 0.06);
    // moves three times what the volatility model says: its Student-t multiples cover far too little (a t of unit
    // variance has no room for them) and the default's adaptive step takes its time to widen them, so a challenger
    // beats the default far beyond chance and replaces it
    assert.ok(unadapted(selection, 'student_t').coverage_80 < 0.5, String(unadapted(selection, 'student_t').coverage_80));
    const chosen = selection.candidates.find((c) => sameRule(c, { window, ...rule })) as (typeof selection.candidates)[number];
    assert.ok(!sameRule(chosen, DEFAULT_BAND_RULE));
    assert.ok((chosen.t_vs_default as number) > (selection.default_test?.critical_t as number), `t ${chosen.t_vs_default} vs ${selection.default_test?.critical_t}`);
    near(chosen.coverage_80, 0.8, 0.06);
  });

  // The tests of the test itself are run in stationary worlds, where the Student-t bands without an adaptive step
  // are exactly right: an adaptive step only adds noise there, so a less adaptive challenger can be truly better
  // than the shipped default. With the exactly right rule as the default, any replacement is a false one.
  test('the default rule serves unless a candidate beats it beyond chance', () => {
    // the default's own world: t(5) moves of exactly the forecast variance. Of 56 candidates some score lower on
    // the scored days by luck, but none by enough, so the default stays
    const { selection, window, rule } = selectBandRule([symbolDays(1, 11, 1000, 5)], base, 2, STATIC_STUDENT_T_RULE);
    assert.deepEqual({ window, ...rule }, STATIC_STUDENT_T_RULE);
    const standard = selection.candidates.find((c) => sameRule(c, STATIC_STUDENT_T_RULE));
    const luckier = selection.candidates.filter((c) => c.selection_score < (standard?.selection_score as number));
    assert.ok(luckier.length > 0, 'some candidate scored lower than the default');
    // 1,000 validation days: the later 400 scored, in 4-day batches (two horizons) 2 days apart: 67 batches
    assert.deepEqual(selection.default_test, { rule: STATIC_STUDENT_T_RULE, batch_days: 4, degrees_of_freedom: 66, critical_t: studentTQuantile(1 - 0.05 / 55, 66) });
    for (const c of luckier) assert.ok((c.t_vs_default as number) < (selection.default_test?.critical_t as number), `${c.window} ${c.rate}: t ${c.t_vs_default}`);
  });

  // the default's own world with multi-day outcomes of overlapping days: t(5) moves of the forecast variance
  function overlappingSeries(seed: number, horizon: number): CalibrationSeries {
    const rng = createRng(seed);
    const moves = Array.from({ length: 1100 + horizon }, () => 0.01 * unitVarianceT(rng, 5));
    const day = (index: number) => ({ day: index, raw: new Array<number>(horizon).fill(0), returns, actual: cumulativeMoves(moves, index + 400, horizon) });
    return { training: Array.from({ length: 400 }, (_, i) => day(i - 400)), validation: Array.from({ length: 700 }, (_, i) => day(i)) };
  }

  test('one calm or wild stretch of a few hundred days of 20-day outcomes is no evidence against the default', () => {
    // 280 scored days hold five 40-day batches 20 days apart (4 degrees of freedom). On seed 3 a Newey–West
    // estimate gave conformal quantiles z 4.2 and replaced the default; none of these ten replaces it now.
    for (let seed = 1; seed <= 10; seed += 1) {
      const { window, rule, selection } = selectBandRule([overlappingSeries(seed, 20)], base, 20, STATIC_STUDENT_T_RULE);
      assert.deepEqual({ window, ...rule }, STATIC_STUDENT_T_RULE, `seed ${seed}`);
      assert.equal(selection.default_test?.degrees_of_freedom, 4);
    }
  });

  test('at a 60-day horizon a validation year holds too little for any test: the default serves', () => {
    // 280 scored days hold one 120-day batch a horizon from the next; a Newey–West estimate gave z up to 14 on
    // seeds like these and replaced the default
    const { window, rule, selection } = selectBandRule([overlappingSeries(20, 60)], base, 60);
    assert.deepEqual({ window, ...rule }, DEFAULT_BAND_RULE);
    assert.deepEqual(selection.default_test, { rule: DEFAULT_BAND_RULE, batch_days: 120, degrees_of_freedom: 0 });
    assert.ok(selection.candidates.some((c) => c.selection_score < (selection.candidates.find((d) => sameRule(d, DEFAULT_BAND_RULE))?.selection_score as number)), 'a challenger scored lower');
  });

  test('a default rule that is not one of the candidates is refused, with days enough to compare or not', () => {
    for (const days of [400, 5]) {
      assert.throws(() => selectBandRule([symbolDays(1, 12, days)], base, 2, { window: 'student_t', rate: 0.05, divide_by_step: true }), {
        name: 'RangeError',
        message: /the default band rule .*"rate":0\.05.* is not one of the candidates/,
      });
    }
  });

  test('too few validation days to compare anything: the default rule, no candidates', () => {
    const { selection, window, rule } = selectBandRule([symbolDays(1, 12, 5)], base, 2);
    assert.deepEqual({ window, ...rule }, DEFAULT_BAND_RULE);
    assert.deepEqual(selection.candidates, []);
  });

  test('several symbols: each is banded by quantiles fitted on the others only, as a symbol the model never saw would be', () => {
    // Pooled, the quantiles of a calm and a wild symbol would cover about 80 % of both together. Fitted on the other
    // symbol, the calm one's bands are three times too wide (about 100 %) and the wild one's three times too narrow
    // (P(|Z| < 1.28 / 3) ≈ 33 %): together about 66 %, which only leaving each symbol out produces.
    const { selection, window } = selectBandRule([symbolDays(1, 2), symbolDays(3, 3)], base, 2);
    assert.equal(selection.leave_series_out, true);
    near(plainQuantiles(selection).coverage_80, 0.66, 0.05);
    // the same with the training days as well: a series' own training days are left out with it
    near(unadapted(selection, 'training_and_validation').coverage_80, 0.66, 0.05);
    // the per-step and pooled conformal quantiles do not carry over between these symbols, so none of them is chosen
    assert.ok(!['validation', 'training_and_validation', 'validation_pooled_steps', 'validation_shrunk_steps'].includes(window), window);
  });

  test('fat tails: Student-t multiples cover 80 % where Gaussian ones of the same volatility cover too much', () => {
    // t(5) innovations of exactly the forecast variance: ±1.2816 σ covers about 84 % of them at one day, 82 % at two
    // (seeds 6 to 9 gave Student-t 0.77 to 0.81 and Gaussian 0.03 to 0.04 more)
    const { selection } = selectBandRule([symbolDays(1, 6, 2000, 5)], base, 2);
    const [t, normal] = [unadapted(selection, 'student_t'), unadapted(selection, 'gaussian')];
    near(t.coverage_80, 0.8, 0.035);
    assert.ok(normal.coverage_80 > t.coverage_80 + 0.02, `Gaussian ${normal.coverage_80} vs Student-t ${t.coverage_80}`);
  });

  test('a symbol with too few validation days beside a long one: the earlier days of both are pooled, nothing left out', () => {
    const { selection } = selectBandRule([symbolDays(1, 4), symbolDays(1, 5, 3)], base, 2);
    assert.equal(selection.leave_series_out, false);
    assert.ok(selection.candidates.length > 0, 'a rule was still chosen on validation');
    near(plainQuantiles(selection).coverage_80, 0.8, 0.07);
  });
});

describe('evaluation of bands, probability and volatility', () => {
  test('coverage, Winkler scores and RiskMetrics by hand on two forecasts', () => {
    const base = {
      lastPrice: 100, driftPerDay: 0, movingAverage: 100, raw: [0.01], w80: [0.02], w95: [0.04],
      variance: [1e-4], ewmaVariance: [1e-4], garchVariance: [2e-4], volatilityModel: 'ewma' as const, baseRate: 0.5,
    };
    const forecasts: ScoredForecast[] = [
      { ...base, date: '2025-01-02', predicted: [0], actual: [0.01], probabilityUp: 0.6 },
      { ...base, date: '2025-01-03', predicted: [0], actual: [-0.03], probabilityUp: 0.4 },
    ];
    const e = evaluateForecasts(forecasts);
    const [one, pooled] = e.horizons;
    assert.equal(one?.steps, '1');
    assert.equal(pooled?.steps, '1..1');
    near(one?.coverage_80 as number, 0.5);
    near(one?.coverage_95 as number, 1);
    // Winkler 80 %: widths 0.04 each, the second misses by 0.01 → + 2 / 0.2 × 0.01, in percent
    near(one?.interval_score_80 as number, (100 * (0.04 + 0.04 + 10 * 0.01)) / 2, 1e-9);
    // RiskMetrics: ±1.2816 × 0.01; the second (−0.03) misses by 0.03 − 0.012816
    const z = Z_80 * 0.01;
    near(one?.riskmetrics_interval_score_80 as number, (100 * (4 * z + 10 * (0.03 - z))) / 2, 1e-9);
    near(one?.riskmetrics_coverage_80 as number, 0.5);
    near(e.brier, (0.16 + 0.16) / 2, 1e-12);
    near(e.base_rate_brier, 0.25, 1e-12);
    near(e.lstm_mae, (Math.abs(100 * Math.exp(0.01) - 100 * Math.exp(0.01)) + Math.abs(100 * Math.exp(-0.03) - 100 * Math.exp(0.01))) / 2, 1e-9);
    near(e.volatility_qlike, (qlike(1e-4, 1e-4) + qlike(1e-4, 9e-4)) / 2, 1e-12);
    near(e.garch_qlike, (qlike(2e-4, 1e-4) + qlike(2e-4, 9e-4)) / 2, 1e-12);
  });
});

describe('band rules beside the conformal quantiles', () => {
  test('steps pooled: every step gets the conformal quantile of all steps’ normalised residuals together', () => {
    // two days, two steps; residual / scale: day 1 → 1, 4; day 2 → 2, 3 (the per-step quantiles would differ)
    const pooled = calibrateIntervals([[0.01, 0.08], [0.02, 0.06]], [[0, 0], [0, 0]], [[0.01, 0.02], [0.01, 0.02]], 'pooled');
    const expected80 = conformalQuantile([1, 4, 2, 3], 0.8);
    assert.deepEqual(pooled.q80.map((q) => Math.round(q * 1e9) / 1e9), [expected80, expected80]);
    const perStep = calibrateIntervals([[0.01, 0.08], [0.02, 0.06]], [[0, 0], [0, 0]], [[0.01, 0.02], [0.01, 0.02]]);
    assert.notDeepEqual(perStep.q80, pooled.q80);
  });

  test('steps shrunk: a step with ample independent outcomes keeps its own quantile, a long step with few gets the pooled one', () => {
    // step 1 with 20,000 residuals: 20,000 independent outcomes, weight 20000 / 20200 ≈ 0.99 on its own
    // quantile; step 60 with 300 residuals: 5 independent outcomes, weight 5 / 205 ≈ 0.02
    const q = shrunkQuantiles([1.1, 2.5], 1.6, [20_000, 300], SHRINKAGE_OUTCOMES);
    near(q[0] as number, 1.1 + (0.5 * SHRINKAGE_OUTCOMES) / (20_000 + SHRINKAGE_OUTCOMES), 1e-12);
    assert.ok(Math.abs((q[0] as number) - 1.1) < 0.01, `step 1 near its own quantile, got ${q[0]}`);
    const long = shrunkQuantiles([1.1, ...new Array<number>(58).fill(1.3), 2.5], 1.6, new Array<number>(60).fill(300));
    const w60 = 300 / 60 / (300 / 60 + SHRINKAGE_OUTCOMES);
    near(long[59] as number, w60 * 2.5 + (1 - w60) * 1.6, 1e-12);
    assert.ok(Math.abs((long[59] as number) - 1.6) < 0.03, `step 60 near the pooled quantile, got ${long[59]}`);
    // the weight grows with the evidence: the same step with 100× the residuals moves toward its own quantile
    const more = shrunkQuantiles([2.5], 1.6, [30_000]);
    assert.ok((more[0] as number) > 2.4, `with ample data the step's own quantile, got ${more[0]}`);
  });

  test('steps shrunk in calibrateIntervals: between the per-step and the pooled quantiles, weighted by the effective sample', () => {
    const actual = [[0.01, 0.08], [0.02, 0.06]];
    const zero = [[0, 0], [0, 0]];
    const scale = [[0.01, 0.02], [0.01, 0.02]];
    const own = calibrateIntervals(actual, zero, scale, 'per_step');
    const pooled = calibrateIntervals(actual, zero, scale, 'pooled');
    const shrunk = calibrateIntervals(actual, zero, scale, 'shrunk');
    const w = [2 / (2 + SHRINKAGE_OUTCOMES), 1 / (1 + SHRINKAGE_OUTCOMES)];
    shrunk.q95.forEach((q, h) => near(q, (w[h] as number) * (own.q95[h] as number) + (1 - (w[h] as number)) * (pooled.q95[h] as number), 1e-12));
  });

  test('the RiskMetrics rule serves exactly the baseline’s bands, whatever volatility model serves `volatility`', () => {
    const returns = simulateGarch(300, 0.1, 0.85, 1e-4, 7);
    const garch = { kind: 'garch' as const, alpha: 0.1, beta: 0.85 };
    const calibration = {
      shrinkage: [0, 0, 0],
      volatility: garch,
      intervals: { q80: [Z_80, Z_80, Z_80], q95: [Z_95, Z_95, Z_95], scaled_by: 'riskmetrics' as const },
      direction: { base_rate: 0.5, scale: 1, fitted_slope: 0, slope_t: 0, slope: 0 },
      adaptive_rule: { rate: 0, divide_by_step: false },
    };
    const out = applyCalibration(calibration, [0.01, 0.02, 0.03], returns);
    const riskMetrics = horizonVariances(RISKMETRICS, returns, 3).map(Math.sqrt);
    out.w80.forEach((w, h) => near(w, Z_80 * (riskMetrics[h] as number)));
    out.w95.forEach((w, h) => near(w, Z_95 * (riskMetrics[h] as number)));
    // the served volatility is still the GARCH's
    horizonVariances(garch, returns, 3).forEach((v, h) => near(out.volatility[h] as number, Math.sqrt(v)));
    assert.ok(Math.abs((out.volatility[2] as number) - (riskMetrics[2] as number)) > 1e-6, 'the two volatility models differ on these returns');
  });
});
