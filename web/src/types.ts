/**
 * The parts of the service's JSON (see API_CONTRACT.md) the dashboard reads.
 * Fields the contract marks optional, or that older servers may omit, are optional here so the
 * page says "not reported" instead of inventing a value.
 */

import type { ReliabilityBin } from '../../src/tracking/reliability.js';
import type { AccuracyFigures } from '../../src/tracking/scoring.js';

export interface Evaluation {
  readonly mae: number;
  readonly naive_mae: number;
  readonly mae_ratio: number;
  /** One-sided Diebold–Mariano p-value of "the model's errors are smaller than naive's"; older servers omit it. */
  readonly naive_dm_p_value?: number;
  readonly rmse?: number;
  readonly mape?: number;
  /** The served forecast's next-day direction calls; `lstm_hit_rate` the raw network's (older versions have none). */
  readonly hit_rate: number;
  readonly lstm_hit_rate?: number;
  readonly always_up_hit_rate: number;
  readonly interval_coverage_80: number;
  readonly interval_coverage_95?: number;
  readonly test_from: string;
  readonly test_to: string;
  readonly test_days?: number;
  /** The raw network's MAE beside the served (calibrated) one; older servers omit the calibrated figures. */
  readonly lstm_mae?: number;
  readonly lstm_mae_ratio?: number;
  readonly brier?: number;
  readonly base_rate_brier?: number;
  readonly base_rate?: number;
  readonly horizons?: readonly HorizonScore[];
  readonly volatility_model?: string;
  readonly volatility_qlike?: number;
  readonly ewma_qlike?: number;
  readonly garch_qlike?: number;
  /** The LSTM volatility head's; absent for versions without one. */
  readonly head_qlike?: number;
}

/** Band coverage and interval score at one horizon step (or pooled), beside the RiskMetrics baseline. */
export interface HorizonScore {
  readonly steps: string;
  readonly coverage_80: number;
  readonly coverage_95: number;
  readonly interval_score_80: number;
  readonly riskmetrics_coverage_80: number;
  readonly riskmetrics_coverage_95: number;
  readonly riskmetrics_interval_score_80: number;
}

/** What turns the network's output into the served numbers (`GET /api/v1/models/:symbol`). */
export interface Calibration {
  /** Per horizon step: served log return = factor × the network's. */
  readonly shrinkage: readonly number[];
  readonly volatility: { readonly kind: string };
  /** Validation QLIKE of each volatility candidate (the served one had the lowest); older servers omit it. */
  readonly volatility_selection?: { readonly ewma_qlike: number; readonly garch_qlike: number; readonly head_qlike?: number };
  readonly direction: { readonly base_rate: number; readonly slope: number; readonly slope_t: number };
}

export type ModelStatus = 'ready' | 'failed' | 'loading';

/** An entry of `GET /api/v1/models`; a model that failed to load has no version or evaluation (null). */
export interface ModelSummary {
  /** Null for the global model (nobody's own model); older servers sent "GLOBAL". */
  readonly symbol: string | null;
  /** Lower-case symbol, or "global" for the model trained on all symbols. */
  readonly key?: string;
  readonly name: string;
  readonly version: string | null;
  readonly status: ModelStatus;
  readonly trained_at?: string | null;
  readonly window?: number | null;
  readonly horizon?: number | null;
  readonly features?: readonly string[];
  readonly backend?: string | null;
  readonly evaluation?: Evaluation | null;
  readonly beats_naive?: boolean | null;
  /** Present for a model imported from a Keras HDF5 file. */
  readonly origin?: ModelOrigin;
  readonly error?: string;
}

export interface ModelOrigin {
  readonly model_file: string;
  readonly keras_version: string;
  readonly layout: string;
  readonly scaler_file: string;
  readonly layers: readonly string[];
  readonly multi_step: 'iterated' | 'single_step';
  readonly caveat: string;
}

export interface ModelVersion {
  readonly version: string;
  readonly current: boolean;
  readonly complete?: boolean;
  readonly trained_at?: string;
  readonly backend?: string;
  readonly data_to?: string;
  readonly mae_ratio?: number;
  readonly hit_rate?: number;
  readonly beats_naive?: boolean;
  readonly error?: string;
}

/** `GET /api/v1/models/:symbol`: the summary plus training data, configuration and version history. */
export interface ModelDetail extends ModelSummary {
  /** True when the symbol has no model of its own and the global model is described. */
  readonly fallback?: boolean;
  /** Training data as the service reports it (from, to, bars, source, ...). */
  readonly data?: Readonly<Record<string, unknown>> | null;
  readonly training_config?: Readonly<Record<string, unknown>> | null;
  readonly calibration?: Calibration | null;
  readonly versions?: readonly ModelVersion[];
}

export interface ModelsResponse {
  readonly models: readonly ModelSummary[];
}

export interface ForecastPoint {
  readonly date: string;
  readonly price: number;
  /** The network's raw price beside the served one, and the expected volatility of the log return to this day. */
  readonly lstm_price?: number;
  readonly volatility?: number;
  readonly lower_80: number;
  readonly upper_80: number;
  readonly lower_95: number;
  readonly upper_95: number;
}

/** One held-out (test-split) day: the model's next-day forecast made the day before, and what happened. */
export interface TestForecastPoint {
  readonly date: string;
  readonly actual: number;
  readonly predicted: number;
  readonly lower_80: number;
  readonly upper_80: number;
  readonly lower_95: number;
  readonly upper_95: number;
  readonly naive: number;
}

/** `GET /api/v1/models/:symbol/test-forecasts`. */
export interface TestForecastsResponse {
  readonly symbol: string;
  readonly model: string;
  readonly version: string;
  readonly test_from: string | null;
  readonly test_to: string | null;
  readonly count: number;
  readonly points: readonly TestForecastPoint[];
}

export type TradingSignal = 'BUY' | 'SELL' | 'HOLD';

export interface PredictionModel {
  readonly name: string;
  readonly key?: string;
  readonly version: string;
  readonly trained_at?: string;
  readonly window?: number;
  readonly features?: readonly string[];
  readonly backend?: string;
  readonly evaluation?: Evaluation;
  readonly beats_naive?: boolean;
  /** True when the symbol has no model of its own and the global model answered. */
  readonly fallback?: boolean;
}

export interface Prediction {
  readonly symbol: string;
  readonly current_price: number;
  readonly predicted_price: number;
  readonly trading_signal: TradingSignal;
  readonly confidence: number;
  /** Calibrated probability of an up day, and the network's raw next-day price. */
  readonly probability_up?: number;
  readonly lstm_predicted_price?: number;
  readonly prediction_time: string;
  readonly model_version: string;
  readonly as_of: string;
  readonly predicted_change_pct: number;
  readonly forecast: readonly ForecastPoint[];
  readonly baseline: { readonly method: string; readonly predicted_price: number };
  readonly model: PredictionModel;
  readonly data_source?: string;
  readonly cached: boolean;
}

export interface HistoricalBar {
  readonly symbol: string;
  readonly timestamp: string;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly adj_close?: number;
  readonly volume: number;
}

export interface HistoricalResponse {
  readonly symbol: string;
  readonly days: number;
  readonly count: number;
  readonly data: readonly HistoricalBar[];
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface HealthResponse {
  readonly status: HealthStatus;
  readonly timestamp: string;
  readonly version?: string;
  readonly uptime_seconds?: number;
  readonly services?: Readonly<Record<string, unknown>>;
}

/** `GET /api/v1/stats`: shown as the API returns it (nested objects of numbers and strings). */
export type StatsResponse = Readonly<Record<string, unknown>>;

export interface ApiErrorBody {
  readonly error: string;
  readonly status: number;
  readonly timestamp?: string;
}

/**
 * Accuracy of tracked forecasts (`GET /api/v1/predictions/accuracy/...`): every figure beside the naive forecast's.
 * The fields the page reads of the server's own type (type-only import: nothing of src/ is bundled).
 */
export type TrackedAccuracy = Pick<
  AccuracyFigures,
  | 'total_predictions'
  | 'predictions_with_actual'
  | 'live_predictions'
  | 'backfilled_predictions'
  | 'mae'
  | 'naive_mae'
  | 'mae_ratio'
  | 'hit_rate'
  | 'always_up_hit_rate'
  | 'coverage_80'
  | 'coverage_95'
  | 'brier_score'
  | 'brier_constant'
  | 'brier_rows'
>;

export interface TrackedAccuracyGroup extends TrackedAccuracy {
  readonly group: string;
}

export interface SymbolTrackedAccuracy extends TrackedAccuracy {
  readonly symbol: string;
  /** Groups "live" (issued before the outcome existed) and "backfilled" (replays), those present. */
  readonly by_source: readonly TrackedAccuracyGroup[];
}

/** One tracked forecast step (`GET /api/v1/predictions/history/:symbol`). */
export interface TrackedForecast {
  readonly id: number;
  readonly issue_date: string;
  readonly target_date: string;
  readonly horizon: number;
  readonly model_version: string;
  readonly predicted_price: number;
  readonly lower_80: number;
  readonly upper_80: number;
  readonly lower_95: number;
  readonly upper_95: number;
  readonly naive_forecast: number;
  readonly actual_close: number | null;
  readonly backfilled: boolean;
}

export interface TrendDay {
  readonly date: string;
  readonly predictions_with_actual: number;
  readonly rolling_mae_ratio: number | null;
}

export interface TrendsResponse {
  readonly symbol: string;
  readonly window: number;
  readonly trends: readonly TrendDay[];
}

export type { ReliabilityBin };

/** `GET /api/v1/predictions/accuracy/reliability`: `rows` is the server's `brier_rows` (step-1 rows with a confidence). */
export interface ReliabilityResponse extends Pick<AccuracyFigures, 'hit_rate' | 'brier_score' | 'brier_constant'> {
  readonly rows: number;
  readonly bins: readonly ReliabilityBin[];
}
