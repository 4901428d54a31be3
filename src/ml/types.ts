import type { Bar } from '../market/bar.js';
import type { InferenceInfo } from './inference/engine.js';

/**
 * Shared vocabulary between training, the model store and the HTTP service.
 * Field names inside `Evaluation` follow the API contract (`model.evaluation`), snake_case.
 */

/** The model key of the global model, trained on all symbols, used for symbols without their own. */
export const GLOBAL_MODEL_KEY = 'global';

/**
 * Model keys and symbols are separate namespaces: a symbol's model key is its lower-case form, except for a
 * ticker spelled like a reserved key (the ticker GLOBAL), whose key gets a leading '_' that no symbol can start
 * with. So the ticker GLOBAL is never answered by, listed as, or trained over the global model.
 */
const RESERVED_MODEL_KEYS: ReadonlySet<string> = new Set([GLOBAL_MODEL_KEY]);
const ESCAPE = '_';

export function symbolModelKey(symbol: string): string {
  const key = symbol.trim().toLowerCase();
  return RESERVED_MODEL_KEYS.has(key) ? `${ESCAPE}${key}` : key;
}

/** The symbol whose own model a key is; null for a reserved key (the global model). */
export function symbolOfModelKey(key: string): string | null {
  if (RESERVED_MODEL_KEYS.has(key)) return null;
  return (key.startsWith(ESCAPE) ? key.slice(ESCAPE.length) : key).toUpperCase();
}

export interface TrainingConfig {
  /** Bars of history fed to the LSTM per sample. */
  readonly window: number;
  /** Trading days ahead predicted (targets are cumulative log returns for 1..horizon). */
  readonly horizon: number;
  readonly layers: number;
  readonly units: number;
  readonly dropout: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Early-stopping patience in epochs, on validation loss; best weights are restored. */
  readonly patience: number;
  readonly seed: number;
  /** Chronological split fractions; test = 1 - train - validation. */
  readonly trainFraction: number;
  readonly validationFraction: number;
  /** Use only the last N bars of history (0 = all). */
  readonly maxBars: number;
}

/** Test-split (or backtest) scores of a model and of the naive random-walk forecast on the same days. */
export interface Evaluation {
  readonly mae: number;
  readonly naive_mae: number;
  /** mae / naive_mae; below 1 means the model beats the random walk. */
  readonly mae_ratio: number;
  /** One-sided Diebold–Mariano p-value of "the model's absolute errors are smaller than naive's". */
  readonly naive_dm_p_value: number;
  readonly rmse: number;
  readonly naive_rmse: number;
  readonly mape: number;
  readonly naive_mape: number;
  readonly drift_mae: number;
  readonly moving_average_mae: number;
  /** Share of test days whose next-day direction the model got right. */
  readonly hit_rate: number;
  /** Share of test days on which the price went up (what "always predict up" scores). */
  readonly always_up_hit_rate: number;
  readonly interval_coverage_80: number;
  readonly interval_coverage_95: number;
  /** Correlation of predicted vs actual one-day changes (near 0 exposes a lag-1 copy model). */
  readonly change_correlation: number;
  readonly test_from: string;
  readonly test_to: string;
  readonly test_days: number;
}

/** Split-conformal half-widths of the prediction intervals, in log-return units, per horizon step. */
export interface IntervalCalibration {
  readonly q80: readonly number[];
  readonly q95: readonly number[];
  /**
   * 'volatility_20': q80/q95 are multiples of the 20-day volatility of daily log returns on the
   * forecast day (locally adaptive conformal: bands widen in turbulent markets and narrow in calm
   * ones). Absent: q80/q95 are the half-widths themselves.
   */
  readonly scaled_by?: 'volatility_20';
}

/**
 * Empirical probability that the predicted direction is right, measured on held-out data,
 * bucketed by the size of the predicted move (|predicted log return|, ascending upper edges).
 */
export interface DirectionCalibration {
  readonly edges: readonly number[];
  readonly hit_rates: readonly number[];
  readonly counts: readonly number[];
}

export interface ModelMetadata {
  /** Model key: lower-case symbol, or GLOBAL_MODEL_KEY. */
  readonly key: string;
  /** Symbols whose data trained it (one for a per-symbol model). */
  readonly symbols: readonly string[];
  readonly name: string;
  readonly version: string;
  readonly trained_at: string;
  readonly window: number;
  readonly horizon: number;
  readonly features: readonly string[];
  readonly backend: string;
  readonly config: TrainingConfig;
  readonly data: { readonly from: string; readonly to: string; readonly bars: number; readonly sha256: string; readonly source: string };
  readonly evaluation: Evaluation;
  readonly beats_naive: boolean;
  readonly intervals: IntervalCalibration;
  readonly direction: DirectionCalibration;
  readonly timings: { readonly train_seconds: number; readonly epochs_run: number; readonly best_epoch: number; readonly samples_per_second: number };
  /** sha256 of the scaler JSON under scalers/, binding scaler and model version. */
  readonly scaler_sha256: string;
  /** Present when the network was not trained here but imported (e.g. from a Keras HDF5 file). */
  readonly origin?: ModelOrigin;
}

/** Where an imported model came from and how its output becomes a forecast. */
export interface ModelOrigin {
  readonly kind: 'keras_import';
  readonly imported_at: string;
  readonly model_file: string;
  readonly model_sha256: string;
  /** 'keras2' (`:0` weight names, batch_input_shape) or 'keras3-legacy-h5'. */
  readonly layout: string;
  readonly keras_version: string;
  readonly scaler_file: string;
  readonly scaler_sha256: string;
  /** 'pickle', 'joblib' or 'json'; and the scikit-learn classes of the input and output scalers. */
  readonly scaler_format: string;
  readonly scaler_types: { readonly features: string; readonly target: string };
  /** The network, one entry per layer, e.g. "LSTM(50, tanh, return_sequences)". */
  readonly layers: readonly string[];
  /** Bar columns fed to the network, in order. */
  readonly inputs: readonly string[];
  /** 'next_close': one day ahead; longer horizons are 'iterated' on its own output, or not offered ('single_step'). */
  readonly output: 'next_close';
  readonly multi_step: 'iterated' | 'single_step';
  /** What the file cannot tell: the period it was trained on, so test-split days may have been seen in training. */
  readonly caveat: string;
}

/** One held-out next-day (step 1) forecast of the test split, in prices, for the day being predicted. */
export interface TestForecastPoint {
  readonly date: string;
  readonly actual: number;
  readonly predicted: number;
  readonly lower_80: number;
  readonly upper_80: number;
  readonly lower_95: number;
  readonly upper_95: number;
  /** The naive forecast: the previous close. */
  readonly naive: number;
}

/**
 * The test-split forecasts the evaluation was computed from, by symbol (upper-case), oldest first:
 * one entry for a per-symbol model, one per trained symbol for the global model.
 */
export type TestForecasts = Readonly<Record<string, readonly TestForecastPoint[]>>;

export interface ForecastPoint {
  readonly date: string;
  readonly price: number;
  readonly lower_80: number;
  readonly upper_80: number;
  readonly lower_95: number;
  readonly upper_95: number;
}

export interface Forecast {
  /** Date of the last bar used. */
  readonly as_of: string;
  readonly current_price: number;
  /** One point per trading day ahead. */
  readonly points: readonly ForecastPoint[];
  /** Empirical probability of a correct next-day direction for a move of this size. */
  readonly confidence: number;
}

/** A loaded, warmed model that turns recent bars into a forecast. */
export interface Forecaster {
  readonly metadata: ModelMetadata;
  /** Which code runs the forward pass (fused typed arrays, or tfjs with the reason). */
  readonly inference: InferenceInfo;
  /** Minimum number of bars `forecast` needs (window plus feature warm-up). */
  readonly requiredBars: number;
  forecast(bars: readonly Bar[], days: number): Promise<Forecast>;
  dispose(): void;
}

/** Progress of a training run, reported per epoch. */
export interface TrainingProgress {
  readonly key: string;
  readonly epoch: number;
  readonly epochs: number;
  readonly loss: number;
  readonly val_loss: number;
  readonly eta_seconds: number;
}
