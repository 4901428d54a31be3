/**
 * Scoring of matured forecasts: pure functions, shared by the store (one row at a time, when its actual close
 * is known) and the accuracy answers (aggregates over scored rows). Every aggregate carries the naive forecast's
 * error on the same rows, so no figure is shown without the baseline it has to beat.
 */

import { callsUp } from '../ml/evaluation/direction.js';

/** The price and bands of one issued forecast step, and the naive forecast (last close at issue). */
export interface ForecastPrices {
  readonly forecast: number;
  readonly naive_forecast: number;
  readonly lower_80: number;
  readonly upper_80: number;
  readonly lower_95: number;
  readonly upper_95: number;
  /** Step 1: the model's probability of an up close (absent on rows recorded before it was stored). */
  readonly probability_up?: number | null;
}

export interface Outcome {
  readonly actual: number;
  readonly abs_error: number;
  /** |forecast − actual| / actual × 100. */
  readonly pct_error: number;
  readonly naive_abs_error: number;
  /** The forecast's direction from the last close at issue matched the actual move. */
  readonly direction_correct: boolean;
  readonly actual_up: boolean;
  readonly inside_80: boolean;
  readonly inside_95: boolean;
}

/**
 * The direction a forecast calls. The next session: the side its probability_up favours, the direction `confidence`
 * is the probability of (a model with no validated skill serves the naive price, which moves nowhere, yet still
 * favours a side). Later steps, and rows without probability_up: up when the forecast price is above the last close,
 * else down (flat included).
 */
export function predictedDirection(f: Pick<ForecastPrices, 'forecast' | 'naive_forecast' | 'probability_up'>): 'up' | 'down' {
  if (f.probability_up !== undefined && f.probability_up !== null) return callsUp(f.probability_up) ? 'up' : 'down';
  return f.forecast > f.naive_forecast ? 'up' : 'down';
}

export function scoreForecast(f: ForecastPrices, actual: number): Outcome {
  const actualUp = actual > f.naive_forecast;
  return {
    actual,
    abs_error: Math.abs(f.forecast - actual),
    pct_error: (Math.abs(f.forecast - actual) / actual) * 100,
    naive_abs_error: Math.abs(f.naive_forecast - actual),
    direction_correct: (predictedDirection(f) === 'up') === actualUp,
    actual_up: actualUp,
    inside_80: actual >= f.lower_80 && actual <= f.upper_80,
    inside_95: actual >= f.lower_95 && actual <= f.upper_95,
  };
}

/** What an aggregate needs of a stored row (scored or not). */
export interface ScorableRow {
  readonly issue_date: string;
  readonly confidence: number | null;
  readonly backfilled: boolean;
  readonly outcome: Outcome | null;
}

export interface AccuracyFigures {
  readonly total_predictions: number;
  /** Forecasts whose target day has closed and been scored (the v3.4 `predictions_with_actual`). */
  readonly predictions_with_actual: number;
  readonly live_predictions: number;
  readonly backfilled_predictions: number;
  readonly mae: number | null;
  readonly naive_mae: number | null;
  /** mae / naive_mae on the same rows: below 1 the model beat "tomorrow = today". */
  readonly mae_ratio: number | null;
  readonly rmse: number | null;
  readonly naive_rmse: number | null;
  /** The v3.4 name for MAPE (%). */
  readonly average_accuracy_mape: number | null;
  readonly naive_mape: number | null;
  /** Share of matured forecasts whose direction was right (0–1) … */
  readonly hit_rate: number | null;
  /** … beside the share "always up" gets right on the same rows. */
  readonly always_up_hit_rate: number | null;
  /** The v3.4 field: hit rate in percent. */
  readonly direction_accuracy: number | null;
  readonly coverage_80: number | null;
  readonly coverage_95: number | null;
  readonly average_confidence: number | null;
  /** Mean squared error of `confidence` as the probability of a correct direction (step-1 rows carry it). */
  readonly brier_score: number | null;
  /** Brier score of the best constant probability on the same rows (their hit rate): what `confidence` must beat. */
  readonly brier_constant: number | null;
  readonly brier_rows: number;
  /** The v3.4 fields: lowest and highest percentage error. */
  readonly best_accuracy: number | null;
  readonly worst_accuracy: number | null;
  readonly last_prediction_date: string | null;
}

const mean = (values: readonly number[]): number | null => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length);
const share = (flags: readonly boolean[]): number | null => mean(flags.map((f) => (f ? 1 : 0)));

export function summarize(rows: readonly ScorableRow[]): AccuracyFigures {
  const scored = rows.filter((r): r is ScorableRow & { outcome: Outcome } => r.outcome !== null);
  const outcomes = scored.map((r) => r.outcome);
  const mae = mean(outcomes.map((o) => o.abs_error));
  const naiveMae = mean(outcomes.map((o) => o.naive_abs_error));
  const rmse = mean(outcomes.map((o) => o.abs_error ** 2));
  const naiveRmse = mean(outcomes.map((o) => o.naive_abs_error ** 2));
  const hitRate = share(outcomes.map((o) => o.direction_correct));
  const withConfidence = scored.filter((r) => r.confidence !== null);
  const brier = mean(withConfidence.map((r) => ((r.confidence as number) - (r.outcome.direction_correct ? 1 : 0)) ** 2));
  const base = share(withConfidence.map((r) => r.outcome.direction_correct));
  const pctErrors = outcomes.map((o) => o.pct_error);
  let last: string | null = null;
  for (const r of rows) if (last === null || r.issue_date > last) last = r.issue_date;
  return {
    total_predictions: rows.length,
    predictions_with_actual: scored.length,
    live_predictions: rows.filter((r) => !r.backfilled).length,
    backfilled_predictions: rows.filter((r) => r.backfilled).length,
    mae,
    naive_mae: naiveMae,
    mae_ratio: mae !== null && naiveMae !== null && naiveMae > 0 ? mae / naiveMae : null,
    rmse: rmse === null ? null : Math.sqrt(rmse),
    naive_rmse: naiveRmse === null ? null : Math.sqrt(naiveRmse),
    average_accuracy_mape: mean(pctErrors),
    naive_mape: mean(outcomes.map((o) => (o.naive_abs_error / o.actual) * 100)),
    hit_rate: hitRate,
    always_up_hit_rate: share(outcomes.map((o) => o.actual_up)),
    direction_accuracy: hitRate === null ? null : hitRate * 100,
    coverage_80: share(outcomes.map((o) => o.inside_80)),
    coverage_95: share(outcomes.map((o) => o.inside_95)),
    average_confidence: mean(withConfidence.map((r) => r.confidence as number)),
    brier_score: brier,
    brier_constant: base === null ? null : base * (1 - base),
    brier_rows: withConfidence.length,
    best_accuracy: pctErrors.length === 0 ? null : pctErrors.reduce((a, b) => Math.min(a, b)),
    worst_accuracy: pctErrors.length === 0 ? null : pctErrors.reduce((a, b) => Math.max(a, b)),
    last_prediction_date: last,
  };
}

/** Horizon buckets of the metrics and the accuracy answers: the next session, a week, a month, beyond. */
export const HORIZON_BUCKETS = ['1', '2-5', '6-20', '21-60'] as const;
export type HorizonBucket = (typeof HORIZON_BUCKETS)[number];

export function horizonBucket(horizon: number): HorizonBucket {
  if (horizon <= 1) return '1';
  if (horizon <= 5) return '2-5';
  if (horizon <= 20) return '6-20';
  return '21-60';
}
