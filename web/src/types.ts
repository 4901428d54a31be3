/**
 * The parts of the service's JSON (see API_CONTRACT.md) the dashboard reads.
 * Fields the contract marks optional, or that older servers may omit, are optional here so the
 * page says "not reported" instead of inventing a value.
 */

export interface Evaluation {
  readonly mae: number;
  readonly naive_mae: number;
  readonly mae_ratio: number;
  readonly rmse?: number;
  readonly mape?: number;
  readonly hit_rate: number;
  readonly always_up_hit_rate: number;
  readonly interval_coverage_80: number;
  readonly interval_coverage_95?: number;
  readonly test_from: string;
  readonly test_to: string;
  readonly test_days?: number;
}

export type ModelStatus = 'ready' | 'failed' | 'loading';

export interface ModelSummary {
  readonly symbol: string;
  readonly name: string;
  readonly version: string;
  readonly status: ModelStatus;
  readonly trained_at?: string;
  readonly window?: number;
  readonly features?: readonly string[];
  readonly evaluation?: Evaluation;
  readonly beats_naive?: boolean;
  readonly error?: string;
}

export interface DataRange {
  readonly from?: string;
  readonly to?: string;
  readonly bars?: number;
  readonly source?: string;
}

/** `GET /api/v1/models/:symbol`: the summary plus configuration and history; extra fields vary by server. */
export interface ModelDetail extends ModelSummary {
  readonly backend?: string;
  readonly horizon?: number;
  readonly data?: DataRange;
  readonly config?: Readonly<Record<string, unknown>>;
  readonly versions?: readonly unknown[];
}

export interface ModelsResponse {
  readonly models: readonly ModelSummary[];
}

export interface ForecastPoint {
  readonly date: string;
  readonly price: number;
  readonly lower_80: number;
  readonly upper_80: number;
  readonly lower_95: number;
  readonly upper_95: number;
}

export type TradingSignal = 'BUY' | 'SELL' | 'HOLD';

export interface PredictionModel {
  readonly name: string;
  readonly version: string;
  readonly trained_at?: string;
  readonly window?: number;
  readonly features?: readonly string[];
  readonly backend?: string;
  readonly evaluation?: Evaluation;
  readonly beats_naive?: boolean;
}

export interface Prediction {
  readonly symbol: string;
  readonly current_price: number;
  readonly predicted_price: number;
  readonly trading_signal: TradingSignal;
  readonly confidence: number;
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
