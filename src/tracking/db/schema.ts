import type { Generated } from 'kysely';

/**
 * The tracking tables as Kysely sees them. Dates are ISO `YYYY-MM-DD` text and timestamps ISO-8601 text in both
 * SQLite and PostgreSQL, and flags are 0/1 integers, so one schema and one set of queries serve both databases.
 */

export interface ForecastsTable {
  id: Generated<number>;
  symbol: string;
  /** The trading day whose close the forecast was issued after (the last bar it used). */
  issue_date: string;
  /** Trading days ahead (1 = the next session). */
  horizon: number;
  /** The model key that answered (lower-case symbol, or "global"). */
  model_key: string;
  model_version: string;
  /** The session the forecast is for (NYSE calendar). */
  target_date: string;
  forecast: number;
  lower_80: number;
  upper_80: number;
  lower_95: number;
  upper_95: number;
  /** Probability that the predicted next-day direction is right; set on step 1 only, the step it is measured for. */
  confidence: number | null;
  /** Probability that the target close is above the last close at issue; step 1 only, like confidence (null before migration 002). */
  probability_up: number | null;
  signal: string;
  /** The naive forecast: the last close at issue. */
  naive_forecast: number;
  /** 1 when written by a backfill replay, 0 when issued live (scheduled or on-demand run for the current day). */
  backfilled: number;
  /** 1 when the target day lies inside the data the model was fitted or calibrated on (never in out-of-sample scores). */
  in_sample: number;
  created_at: string;
  actual: number | null;
  abs_error: number | null;
  pct_error: number | null;
  naive_abs_error: number | null;
  direction_correct: number | null;
  /** 1 when the actual close went up from the naive forecast (what "always up" scores). */
  actual_up: number | null;
  inside_80: number | null;
  inside_95: number | null;
  scored_at: string | null;
}

export interface DailyRunsTable {
  id: Generated<number>;
  execution_date: string;
  execution_type: string;
  status: string;
  total_symbols: number;
  symbols_succeeded: string;
  symbols_failed: string;
  /** v3.4: symbols forecast successfully / unsuccessfully. */
  successful_predictions: number;
  failed_predictions: number;
  /** Forecast rows newly written (0 on an idempotent re-run). */
  recorded_forecasts: number;
  /** Matured forecasts scored by this run. */
  scored_forecasts: number;
  execution_duration_ms: number | null;
  error_message: string | null;
  created_at: string;
  completed_at: string | null;
}

/** One row per execution date and kind: whoever inserts it runs the day (the cross-replica lock). */
export interface RunLocksTable {
  execution_date: string;
  owner: string;
  expires_at: string;
}

export interface TrackingDatabase {
  forecasts: ForecastsTable;
  daily_runs: DailyRunsTable;
  run_locks: RunLocksTable;
}
