import type { Evaluation, IntervalCalibration, TestForecastPoint } from '../types.js';
import { intervalCoverage, intervalHalfWidths } from './conformal.js';
import {
  correlation,
  dieboldMarianoPValue,
  directionalHitRate,
  meanAbsoluteError,
  meanAbsolutePercentageError,
  rootMeanSquaredError,
  upShare,
} from './metrics.js';

/** One held-out forecast made on day t, in log-return space, with what the baselines knew on day t. */
export interface ScoredForecast {
  /** Day t + 1, the headline target day. */
  readonly date: string;
  readonly lastPrice: number;
  readonly driftPerDay: number;
  readonly movingAverage: number;
  /** Predicted cumulative log returns, steps 1..horizon. */
  readonly predicted: readonly number[];
  /** Realised cumulative log returns; NaN where the day is not in the evaluated period. */
  readonly actual: readonly number[];
  /** 20-day volatility of daily log returns on day t (scales the conformal half-widths). */
  readonly volatility: number;
  /** The conformal calibration of the model that made this forecast. */
  readonly intervals: IntervalCalibration;
}

/** Next-day prices of the model and of each baseline, and the realised price, for each forecast. */
interface NextDayPrices {
  readonly actual: number[];
  readonly model: number[];
  readonly naive: number[];
  readonly drift: number[];
  readonly movingAverage: number[];
}

function nextDayPrices(forecasts: readonly ScoredForecast[]): NextDayPrices {
  return {
    actual: forecasts.map((f) => f.lastPrice * Math.exp(f.actual[0] as number)),
    model: forecasts.map((f) => f.lastPrice * Math.exp(f.predicted[0] as number)),
    naive: forecasts.map((f) => f.lastPrice),
    drift: forecasts.map((f) => f.lastPrice * Math.exp(f.driftPerDay)),
    movingAverage: forecasts.map((f) => f.movingAverage),
  };
}

/**
 * Scores held-out forecasts. The headline numbers are next-day (step 1) prices, model against the
 * naive last-close forecast and the other baselines on exactly the same days; interval coverage is
 * pooled over every available step of every forecast.
 */
export function evaluateForecasts(forecasts: readonly ScoredForecast[]): Evaluation {
  const scored = forecasts.filter((f) => !Number.isNaN(f.actual[0]));
  if (scored.length === 0) throw new RangeError('no held-out forecasts to evaluate');
  const prices = nextDayPrices(scored);
  const actualChanges = scored.map((f) => f.actual[0] as number);
  const predictedChanges = scored.map((f) => f.predicted[0] as number);
  const mae = meanAbsoluteError(prices.actual, prices.model);
  const naiveMae = meanAbsoluteError(prices.actual, prices.naive);
  const dates = scored.map((f) => f.date).sort();
  const widths = scored.map((f) => intervalHalfWidths(f.intervals, f.volatility));
  return {
    mae,
    naive_mae: naiveMae,
    mae_ratio: mae / naiveMae,
    naive_dm_p_value: dieboldMarianoPValue(prices.actual, prices.model, prices.naive),
    rmse: rootMeanSquaredError(prices.actual, prices.model),
    naive_rmse: rootMeanSquaredError(prices.actual, prices.naive),
    mape: meanAbsolutePercentageError(prices.actual, prices.model),
    naive_mape: meanAbsolutePercentageError(prices.actual, prices.naive),
    drift_mae: meanAbsoluteError(prices.actual, prices.drift),
    moving_average_mae: meanAbsoluteError(prices.actual, prices.movingAverage),
    hit_rate: directionalHitRate(actualChanges, predictedChanges),
    always_up_hit_rate: upShare(actualChanges),
    interval_coverage_80: intervalCoverage(scored.map((f) => f.actual), scored.map((f) => f.predicted), widths.map((w) => w.w80)),
    interval_coverage_95: intervalCoverage(scored.map((f) => f.actual), scored.map((f) => f.predicted), widths.map((w) => w.w95)),
    change_correlation: correlation(predictedChanges, actualChanges),
    test_from: dates[0] as string,
    test_to: dates.at(-1) as string,
    test_days: new Set(dates).size,
  };
}

/**
 * The next-day prices behind `evaluateForecasts`, one point per forecast with a realised next day:
 * what the model predicted (with its conformal bands), what happened and what naive predicted.
 */
export function nextDayForecastPoints(forecasts: readonly ScoredForecast[]): TestForecastPoint[] {
  const scored = forecasts.filter((f) => !Number.isNaN(f.actual[0]));
  const prices = nextDayPrices(scored);
  return scored.map((f, i) => {
    const { w80, w95 } = intervalHalfWidths(f.intervals, f.volatility);
    const r = f.predicted[0] as number;
    const band = (w: number): number => f.lastPrice * Math.exp(r + w);
    return {
      date: f.date,
      actual: prices.actual[i] as number,
      predicted: prices.model[i] as number,
      lower_80: band(-(w80[0] as number)),
      upper_80: band(w80[0] as number),
      lower_95: band(-(w95[0] as number)),
      upper_95: band(w95[0] as number),
      naive: prices.naive[i] as number,
    };
  });
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
