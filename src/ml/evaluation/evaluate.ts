import type { Evaluation, HorizonForecastPoint, HorizonScore, TestForecastPoint } from '../types.js';
import { brierScore, reliabilityTable } from './calibration.js';
import { callsUp } from './direction.js';
import {
  correlation,
  dieboldMarianoPValue,
  directionalHitRate,
  intervalScore,
  meanAbsoluteError,
  meanAbsolutePercentageError,
  rootMeanSquaredError,
  upShare,
} from './metrics.js';
import { MISS_RATE_80, MISS_RATE_95 } from './adaptive.js';
import { sumVariance } from './significance.js';
import { meanQlike, realisedVariances } from './volatility.js';

/** One held-out forecast made on day t, in log-return space, with what the baselines knew on day t. */
export interface ScoredForecast {
  /** Day t + 1, the headline target day. */
  readonly date: string;
  readonly lastPrice: number;
  readonly driftPerDay: number;
  readonly movingAverage: number;
  /** Served (calibrated) and the network's raw predicted cumulative log returns, steps 1..horizon. */
  readonly predicted: readonly number[];
  readonly raw: readonly number[];
  /** Realised cumulative log returns; NaN where the day is not in the evaluated period. */
  readonly actual: readonly number[];
  /** Served band half-widths per step (log-return units), as served that day. */
  readonly w80: readonly number[];
  readonly w95: readonly number[];
  /** Cumulative variance forecasts per step: the served volatility model's, RiskMetrics EWMA's and the fitted GARCH's. */
  readonly variance: readonly number[];
  readonly ewmaVariance: readonly number[];
  readonly garchVariance: readonly number[];
  /** The LSTM volatility head's, when the model has one (scored whether or not it was chosen). */
  readonly headVariance?: readonly number[];
  readonly volatilityModel: Evaluation['volatility_model'];
  readonly probabilityUp: number;
  /** The constant probability of an up day it is scored against (estimated before the test split). */
  readonly baseRate: number;
}

/** Two-sided standard normal quantiles of the RiskMetrics baseline's 80 % and 95 % bands. */
export const Z_80 = 1.2815516;
export const Z_95 = 1.959964;
/** Horizon steps reported one by one (those within the model's horizon), besides all steps pooled. */
export const REPORTED_STEPS = [1, 5, 20, 60] as const;

function prices(forecasts: readonly ScoredForecast[], step: (f: ScoredForecast) => number): number[] {
  return forecasts.map((f) => f.lastPrice * Math.exp(step(f)));
}

/**
 * Coverage and Winkler score (log-return percent) of served and RiskMetrics bands over the cells of
 * `steps` (0-based); undefined when none of them has a realised value (e.g. step 60 in a 20-day window).
 */
function horizonScore(forecasts: readonly ScoredForecast[], steps: readonly number[], label: string): HorizonScore | undefined {
  let count = 0;
  const sum = { c80: 0, c95: 0, s80: 0, s95: 0, rc80: 0, rc95: 0, rs80: 0, rs95: 0 };
  for (const f of forecasts) {
    for (const h of steps) {
      const a = f.actual[h] as number;
      if (a === undefined || Number.isNaN(a)) continue;
      count += 1;
      const p = f.predicted[h] as number;
      const [w80, w95] = [f.w80[h] as number, f.w95[h] as number];
      const sd = Math.sqrt(f.ewmaVariance[h] as number);
      sum.c80 += Math.abs(a - p) <= w80 ? 1 : 0;
      sum.c95 += Math.abs(a - p) <= w95 ? 1 : 0;
      sum.rc80 += Math.abs(a) <= Z_80 * sd ? 1 : 0;
      sum.rc95 += Math.abs(a) <= Z_95 * sd ? 1 : 0;
      sum.s80 += intervalScore(p - w80, p + w80, a, MISS_RATE_80);
      sum.s95 += intervalScore(p - w95, p + w95, a, MISS_RATE_95);
      sum.rs80 += intervalScore(-Z_80 * sd, Z_80 * sd, a, MISS_RATE_80);
      sum.rs95 += intervalScore(-Z_95 * sd, Z_95 * sd, a, MISS_RATE_95);
    }
  }
  if (count === 0) return undefined;
  return {
    steps: label,
    count,
    coverage_80: sum.c80 / count,
    coverage_95: sum.c95 / count,
    interval_score_80: (100 * sum.s80) / count,
    interval_score_95: (100 * sum.s95) / count,
    riskmetrics_coverage_80: sum.rc80 / count,
    riskmetrics_coverage_95: sum.rc95 / count,
    riskmetrics_interval_score_80: (100 * sum.rs80) / count,
    riskmetrics_interval_score_95: (100 * sum.rs95) / count,
  };
}

/**
 * Newey–West lags of the next-day coverage's standard error: next-day outcomes of consecutive days do not
 * overlap, but misses cluster in volatile weeks.
 */
const NEXT_DAY_COVERAGE_LAGS = 5;

/**
 * Standard errors of next-day band coverage on these days (Newey–West), so a coverage off its target reads
 * against sampling noise. The hits (minus the coverage) are summed per target date first: a model of
 * several symbols scores them on the same days, and symbols miss together on a wild day. Only next day:
 * pooled over steps up to 60 days ahead, a test split of a few hundred days holds a dozen independent
 * outcomes, too few for a variance estimate to be trusted (Newey–West understates it there; see the unit
 * tests).
 */
function nextDayCoverageErrors(forecasts: readonly ScoredForecast[], score: HorizonScore): Pick<HorizonScore, 'coverage_80_se' | 'coverage_95_se'> {
  const error = (w: (f: ScoredForecast) => number, coverage: number): number => {
    const byDate = new Map<string, number>();
    for (const f of forecasts) {
      const hit = Math.abs((f.actual[0] as number) - (f.predicted[0] as number)) <= w(f) ? 1 : 0;
      byDate.set(f.date, (byDate.get(f.date) ?? 0) + hit - coverage);
    }
    const dated = [...byDate].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    return Math.sqrt(sumVariance(dated, NEXT_DAY_COVERAGE_LAGS)) / forecasts.length;
  };
  return { coverage_80_se: error((f) => f.w80[0] as number, score.coverage_80), coverage_95_se: error((f) => f.w95[0] as number, score.coverage_95) };
}

/**
 * Scores held-out forecasts. The point and probability numbers are next-day (step 1): the served
 * forecast and the raw network against the naive last-close forecast and the other baselines on
 * exactly the same days. Bands and volatility are scored at steps 1, 5, 20, 60 and pooled over every
 * available step; hit rate and change correlation describe the network's own calls.
 */
export function evaluateForecasts(forecasts: readonly ScoredForecast[]): Evaluation {
  const scored = forecasts.filter((f) => !Number.isNaN(f.actual[0]));
  if (scored.length === 0) throw new RangeError('no held-out forecasts to evaluate');
  const actual = prices(scored, (f) => f.actual[0] as number);
  const served = prices(scored, (f) => f.predicted[0] as number);
  const raw = prices(scored, (f) => f.raw[0] as number);
  const naive = scored.map((f) => f.lastPrice);
  const actualChanges = scored.map((f) => f.actual[0] as number);
  const rawChanges = scored.map((f) => f.raw[0] as number);
  const ups = actualChanges.map((a) => a > 0);
  const mae = meanAbsoluteError(actual, served);
  const naiveMae = meanAbsoluteError(actual, naive);
  const lstmMae = meanAbsoluteError(actual, raw);
  const dates = scored.map((f) => f.date).sort();
  const horizon = scored[0]?.predicted.length ?? 0;
  const allSteps = Array.from({ length: horizon }, (_, h) => h);
  // step 1 is realised for every scored forecast, so the pooled score always exists
  const pooled = horizonScore(scored, allSteps, `1..${horizon}`) as HorizonScore;
  const realised = scored.map((f) => realisedVariances(f.actual));
  return {
    mae,
    naive_mae: naiveMae,
    mae_ratio: mae / naiveMae,
    naive_dm_p_value: dieboldMarianoPValue(actual, served, naive),
    rmse: rootMeanSquaredError(actual, served),
    naive_rmse: rootMeanSquaredError(actual, naive),
    mape: meanAbsolutePercentageError(actual, served),
    naive_mape: meanAbsolutePercentageError(actual, naive),
    drift_mae: meanAbsoluteError(actual, prices(scored, (f) => f.driftPerDay)),
    moving_average_mae: meanAbsoluteError(actual, scored.map((f) => f.movingAverage)),
    // The served call is the side the served probability favours, as tracking scores it; a model without
    // validated skill serves its base rate, so its call is the same every day.
    hit_rate: directionalHitRate(actualChanges, scored.map((f) => (callsUp(f.probabilityUp) ? 1 : -1))),
    lstm_hit_rate: directionalHitRate(actualChanges, rawChanges),
    always_up_hit_rate: upShare(actualChanges),
    interval_coverage_80: pooled.coverage_80,
    interval_coverage_95: pooled.coverage_95,
    change_correlation: correlation(rawChanges, actualChanges),
    test_from: dates[0] as string,
    test_to: dates.at(-1) as string,
    test_days: new Set(dates).size,
    lstm_mae: lstmMae,
    lstm_mae_ratio: lstmMae / naiveMae,
    brier: brierScore(scored.map((f) => f.probabilityUp), ups),
    base_rate_brier: brierScore(scored.map((f) => f.baseRate), ups),
    base_rate: scored[0]?.baseRate as number,
    reliability: reliabilityTable(scored.map((f) => f.probabilityUp), ups),
    horizons: [
      ...REPORTED_STEPS.flatMap((s) => {
        const score = s <= horizon ? horizonScore(scored, [s - 1], String(s)) : undefined;
        if (score === undefined) return [];
        return [s === 1 ? { ...score, ...nextDayCoverageErrors(scored, score) } : score];
      }),
      pooled,
    ],
    volatility_model: scored[0]?.volatilityModel as Evaluation['volatility_model'],
    volatility_qlike: meanQlike(scored.map((f) => f.variance), realised),
    ewma_qlike: meanQlike(scored.map((f) => f.ewmaVariance), realised),
    garch_qlike: meanQlike(scored.map((f) => f.garchVariance), realised),
    ...(scored.every((f) => f.headVariance !== undefined) ? { head_qlike: meanQlike(scored.map((f) => f.headVariance as readonly number[]), realised) } : {}),
  };
}

/** The served prices of one forecast at 0-based step h: forecast, network, bands, and the realised close. */
function pricesAtStep(f: ScoredForecast, h: number): Omit<HorizonForecastPoint, 'step'> {
  const r = f.predicted[h] as number;
  const band = (w: number): number => f.lastPrice * Math.exp(r + w);
  const [w80, w95] = [f.w80[h] as number, f.w95[h] as number];
  return {
    actual: f.lastPrice * Math.exp(f.actual[h] as number),
    predicted: f.lastPrice * Math.exp(r),
    lstm_predicted: f.lastPrice * Math.exp(f.raw[h] as number),
    lower_80: band(-w80),
    upper_80: band(w80),
    lower_95: band(-w95),
    upper_95: band(w95),
  };
}

/**
 * The prices behind `evaluateForecasts`, one point per forecast with a realised next day: what was
 * served (price, bands, probability of an up day), what the network said, what happened and what naive
 * predicted, next day and at the other REPORTED_STEPS that have realised (so the per-horizon figures
 * can be recomputed from stored forecasts, not only the next-day ones).
 */
export function nextDayForecastPoints(forecasts: readonly ScoredForecast[]): TestForecastPoint[] {
  return forecasts
    .filter((f) => !Number.isNaN(f.actual[0]))
    .map((f) => ({
      date: f.date,
      ...pricesAtStep(f, 0),
      naive: f.lastPrice,
      probability_up: f.probabilityUp,
      horizons: REPORTED_STEPS.filter((step) => step > 1 && step <= f.actual.length && !Number.isNaN(f.actual[step - 1])).map((step) => ({ step, ...pricesAtStep(f, step - 1) })),
    }));
}

/** Significance level of the Diebold–Mariano test behind `beats_naive`. */
export const BEATS_NAIVE_SIGNIFICANCE = 0.05;

/**
 * A model beats naive only if its next-day MAE is lower AND the difference is significant
 * (one-sided Diebold–Mariano, 5%): a ratio of 0.9999 on noisy daily prices is not a win.
 */
export function beatsNaive(evaluation: Evaluation): boolean {
  return evaluation.mae_ratio < 1 && evaluation.naive_dm_p_value < BEATS_NAIVE_SIGNIFICANCE;
}
