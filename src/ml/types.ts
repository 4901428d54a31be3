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
  /** Share of test days whose next-day direction the served forecast got right: the side its probability of an up day favours. */
  readonly hit_rate: number;
  /** The same for the raw network's next-day move (versions saved before it have none; their hit_rate was the network's). */
  readonly lstm_hit_rate?: number;
  /** Share of test days on which the price went up (what "always predict up" scores). */
  readonly always_up_hit_rate: number;
  readonly interval_coverage_80: number;
  readonly interval_coverage_95: number;
  /** Correlation of predicted vs actual one-day changes (near 0 exposes a lag-1 copy model). */
  readonly change_correlation: number;
  readonly test_from: string;
  readonly test_to: string;
  readonly test_days: number;
  /** The raw network forecast's next-day MAE and its ratio to naive (mae and mae_ratio score the served, shrunk forecast). */
  readonly lstm_mae: number;
  readonly lstm_mae_ratio: number;
  /** Brier score of the served probability of an up day, and of the constant base rate (estimated before the test split). */
  readonly brier: number;
  readonly base_rate_brier: number;
  readonly base_rate: number;
  /** Test-split reliability of the probability of an up day: predicted vs observed by bin. */
  readonly reliability: readonly ReliabilityBin[];
  /** Band coverage and interval score by horizon step and pooled, beside the RiskMetrics baseline on the same days. */
  readonly horizons: readonly HorizonScore[];
  /** Mean QLIKE of the cumulative variance over every available horizon: served model, RiskMetrics EWMA, GARCH(1,1), LSTM head. */
  readonly volatility_model: VolatilityModel['kind'];
  readonly volatility_qlike: number;
  readonly ewma_qlike: number;
  readonly garch_qlike: number;
  /** The LSTM volatility head's, when the version has one. */
  readonly head_qlike?: number;
}

/**
 * Interval scores are Winkler's (width + 2/α × the distance by which the outcome falls outside),
 * in log-return percent; lower is better. The RiskMetrics baseline is the random walk with Gaussian
 * bands of EWMA (λ = 0.94) volatility × √steps.
 */
export interface HorizonScore {
  /** "1", "5", "20", "60", or "1..60" for every step pooled. */
  readonly steps: string;
  readonly count: number;
  readonly coverage_80: number;
  readonly coverage_95: number;
  /**
   * Standard error of each coverage on these days (Newey–West), so a coverage off its target can be read
   * against sampling noise: next-day scores only (pooled multi-day outcomes are too few to estimate one),
   * and absent in models saved before it.
   */
  readonly coverage_80_se?: number;
  readonly coverage_95_se?: number;
  readonly interval_score_80: number;
  readonly interval_score_95: number;
  readonly riskmetrics_coverage_80: number;
  readonly riskmetrics_coverage_95: number;
  readonly riskmetrics_interval_score_80: number;
  readonly riskmetrics_interval_score_95: number;
}

/** One bin of a reliability table. */
export interface ReliabilityBin {
  readonly from: number;
  readonly to: number;
  readonly mean_predicted: number;
  readonly observed: number;
  readonly count: number;
}

/** Volatility of daily log returns: RiskMetrics-style EWMA or GARCH(1,1) (see evaluation/volatility.ts). */
export type ClassicalVolatilityModel = { readonly kind: 'ewma'; readonly lambda: number } | { readonly kind: 'garch'; readonly alpha: number; readonly beta: number };

/**
 * ... or the learned LSTM volatility head trained on the training split (see volatility-head/), whose
 * weights are files of the model version (volatility_head.json + volatility_head.bin).
 */
export type VolatilityModel = ClassicalVolatilityModel | { readonly kind: 'lstm_head'; readonly window: number; readonly units: number };

/** Calibrated probability of an up day (see evaluation/calibration.ts). */
export interface DirectionModel {
  /** Share of up days before the test split: the probability served without evidence of skill. */
  readonly base_rate: number;
  /** Standard deviation of the network's validation next-day predictions (standardises the input). */
  readonly scale: number;
  /** Validation slope before shrinkage, its t-statistic, and the slope served. */
  readonly fitted_slope: number;
  readonly slope_t: number;
  readonly slope: number;
}

/** Adaptive conformal state: log multipliers of each band's width per horizon step (see evaluation/adaptive.ts). */
export interface AdaptiveIntervalState {
  readonly log_scale_80: readonly number[];
  readonly log_scale_95: readonly number[];
  /** Matured outcomes applied so far. */
  readonly outcomes: number;
  /** For a symbol the model never trained on: the last bar of the history its bands started from, and how many matured days it scored (ownHistoryState). */
  readonly start?: { readonly as_of: string; readonly days: number };
}

/** How the adaptive band state moves per matured outcome (see evaluation/adaptive.ts). */
export interface AdaptiveRule {
  /** Step of log(width multiplier) per outcome, before any division by the horizon step. */
  readonly rate: number;
  readonly divide_by_step: boolean;
}

/**
 * Where the band multiples come from. Conformal quantiles of normalised residuals per step on the
 * validation split only (nearest the test period), or with the training split's days as well (many
 * more regimes); 'validation_pooled_steps': one quantile per level from the validation days' normalised
 * residuals of every step pooled (at step 60 a validation year holds only a handful of independent
 * 60-day outcomes, too few for a 95 % quantile per step). Or no quantiles at all: Gaussian bands of the
 * served volatility model ('gaussian'), or of RiskMetrics EWMA ('riskmetrics_gaussian', the
 * baseline's own rule) — the baselines compete as band rules on the same validation days.
 * 'validation_shrunk_steps': each step's validation quantile shrunk toward the pooled one by the step's
 * effective sample (shrunkQuantiles in conformal.ts): the 1-day step keeps its own fat-tailed quantile,
 * the long steps borrow the pooled one. 'student_t' / 'riskmetrics_student_t': the unit-variance
 * Student-t's quantiles instead of the Gaussian's, its degrees of freedom fitted on the next-day residuals
 * so normalised (training and validation days) and aggregated over the horizon (student-t.ts): narrower
 * 80 % and wider 95 % bands at one day, tending to the Gaussian's at long horizons.
 */
export type IntervalWindow =
  | 'validation'
  | 'training_and_validation'
  | 'validation_pooled_steps'
  | 'validation_shrunk_steps'
  | 'gaussian'
  | 'riskmetrics_gaussian'
  | 'student_t'
  | 'riskmetrics_student_t';

export const INTERVAL_WINDOWS: readonly IntervalWindow[] = [
  'validation',
  'training_and_validation',
  'validation_pooled_steps',
  'validation_shrunk_steps',
  'gaussian',
  'riskmetrics_gaussian',
  'student_t',
  'riskmetrics_student_t',
];

/** A band rule: where the band multiples come from and how outcomes move them. */
export type BandRule = AdaptiveRule & { readonly window: IntervalWindow };

/**
 * How the band rule (quantile window and adaptive rule) was chosen, on validation data only: quantiles
 * fitted on the window's days before the later part of the validation split, then each candidate served
 * day by day over that later part (after a purge of one horizon) and scored against the two
 * targets: `selection_score` = its pooled 1..horizon Winkler score / RiskMetrics' + its 1-day Winkler
 * score / RiskMetrics' (each 80 % + 95 %, log-return %; RiskMetrics = the 'riskmetrics_gaussian' candidate
 * without adaptation, on the same days). The default rule (`default_test.rule`) serves unless a candidate's
 * `t_vs_default` exceeds `default_test.critical_t`. `fit_days`: validation days of the earlier part.
 */
export interface BandSelection {
  /** Earlier validation days the candidates were fitted on, over all series (leaving a series out, each is fitted on the others' only). */
  readonly fit_days: number;
  readonly selection_days: number;
  /** True when each series was scored with shrinkage and quantiles fitted on the other series only (models of several symbols with enough days each); absent in models saved before. */
  readonly leave_series_out?: boolean;
  /**
   * The batch-means test a candidate's advantage over the default rule had to pass to replace it; absent
   * in models saved before the default, whose lowest score won.
   */
  readonly default_test?: {
    /** The default rule (DEFAULT_BAND_RULE when saved); absent in models saved while it was Student-t without adaptation (STATIC_STUDENT_T_RULE). */
    readonly rule?: BandRule;
    /** Days per batch: two horizons (consecutive batches a horizon apart). */
    readonly batch_days: number;
    /** Batches − 1 of the series with the fewest (series without two batches left out); 0: too few days for a test, so the default serves. */
    readonly degrees_of_freedom: number;
    /** Bonferroni critical t over the other candidates at 5 % (absent with 0 degrees of freedom). */
    readonly critical_t?: number;
  };
  readonly candidates: readonly (BandRule & {
    readonly interval_score: number;
    readonly interval_score_step_1: number;
    readonly selection_score: number;
    readonly coverage_80: number;
    readonly coverage_95: number;
    /** Batch-means t of the default's selection score minus this one's, day by day (positive: this one is better). */
    readonly t_vs_default?: number;
  })[];
}

/** Everything fitted on the validation split (volatility: on the training split) that turns network output into what is served. */
export interface Calibration {
  /** Served cumulative log return at step h = shrinkage[h] × the network's (0: naive; 1: the network as is). */
  readonly shrinkage: readonly number[];
  /** The volatility model behind the bands and the served volatility: whichever of EWMA, GARCH and the LSTM head had the lowest validation QLIKE. */
  readonly volatility: VolatilityModel;
  /** Validation QLIKE of each candidate (head_qlike: absent when the version has no head, e.g. imported networks). */
  readonly volatility_selection: { readonly garch: ClassicalVolatilityModel; readonly ewma_qlike: number; readonly garch_qlike: number; readonly head_qlike?: number };
  readonly intervals: IntervalCalibration;
  /** The days the quantiles were computed on, the adaptive conformal rule served, and the validation evidence both were chosen on. */
  readonly interval_window: IntervalWindow;
  readonly adaptive_rule: AdaptiveRule;
  readonly band_selection: BandSelection;
  /** Adaptive band state after the test split's matured outcomes, per symbol (upper-case): where serving starts. */
  readonly adaptive: Readonly<Record<string, AdaptiveIntervalState>>;
  readonly direction: DirectionModel;
}

/**
 * Split-conformal quantiles per horizon step of validation absolute residuals of the served forecast
 * divided by the volatility model's forecast standard deviation for that step: a band is q × the
 * forecast volatility, so its width follows the volatility regime at every horizon.
 */
export interface IntervalCalibration {
  readonly q80: readonly number[];
  readonly q95: readonly number[];
  /** The standard deviation the multiples scale: the served volatility model's, or RiskMetrics EWMA's. */
  readonly scaled_by: 'volatility_forecast' | 'riskmetrics';
  /** Next-day degrees of freedom of the Student-t sources (the multiples come from it); absent for the other sources. */
  readonly degrees_of_freedom?: number;
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
  readonly calibration: Calibration;
  /** volatility_head_seconds: training the LSTM volatility head (inside train_seconds); absent for versions without one. */
  readonly timings: { readonly train_seconds: number; readonly epochs_run: number; readonly best_epoch: number; readonly samples_per_second: number; readonly volatility_head_seconds?: number };
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

/** A served forecast's prices for one day, beside the close that day realised. */
export interface ForecastAgainstActual {
  readonly actual: number;
  /** The served (calibrated) forecast, and the network's raw one. */
  readonly predicted: number;
  readonly lstm_predicted: number;
  readonly lower_80: number;
  readonly upper_80: number;
  readonly lower_95: number;
  readonly upper_95: number;
}

/** One held-out next-day (step 1) forecast of the test split, in prices, for the day being predicted. */
export interface TestForecastPoint extends ForecastAgainstActual {
  readonly date: string;
  /** The naive forecast: the previous close. */
  readonly naive: number;
  /** The served probability that this close is above the previous one. */
  readonly probability_up: number;
  /**
   * The same forecast at the longer reported steps (5, 20, 60 within the horizon) whose day has
   * realised inside the test split; the naive forecast is still `naive`. Absent in older versions.
   */
  readonly horizons?: readonly HorizonForecastPoint[];
}

/** One forecast's served prices `step` trading days ahead, and the realised close that day. */
export interface HorizonForecastPoint extends ForecastAgainstActual {
  readonly step: number;
}

/**
 * The test-split forecasts the evaluation was computed from, by symbol (upper-case), oldest first:
 * one entry for a per-symbol model, one per trained symbol for the global model.
 */
export type TestForecasts = Readonly<Record<string, readonly TestForecastPoint[]>>;

export interface ForecastPoint {
  readonly date: string;
  /** Served (shrunk towards naive) price, and the network's raw price. */
  readonly price: number;
  readonly lstm_price: number;
  /** Forecast standard deviation of the log return from the last close to this day. */
  readonly volatility: number;
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
  /** Calibrated probability that the next close is above the last one. */
  readonly probability_up: number;
  /** Probability that the more likely next-day direction is right: max(probability_up, 1 − probability_up). */
  readonly confidence: number;
}

/** Per-request inputs of a forecast beyond the bars. */
export interface ForecastOptions {
  /** Upper-case symbol: picks the model's stored adaptive band state for it. */
  readonly symbol?: string;
  /** Adaptive band state from matured outcomes (the tracking store's); overrides the stored one. */
  readonly adaptive?: AdaptiveIntervalState;
}

/** A loaded, warmed model that turns recent bars into a forecast. */
export interface Forecaster {
  readonly metadata: ModelMetadata;
  /** Which code runs the forward pass (fused typed arrays, or tfjs with the reason). */
  readonly inference: InferenceInfo;
  /** Minimum number of bars `forecast` needs (window plus feature warm-up). */
  readonly requiredBars: number;
  forecast(bars: readonly Bar[], days: number, options?: ForecastOptions): Promise<Forecast>;
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
