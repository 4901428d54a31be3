import { z } from 'zod';
import { SYMBOL_PATTERN } from '../market/bar.js';
import { ERROR_CODES, statusOf } from '../errors.js';
import { INTERVAL_WINDOWS, type IntervalWindow } from '../ml/types.js';

/**
 * Request and response schemas of the API contract. The same objects validate requests, serialize responses
 * and generate the OpenAPI document at /docs, so the three cannot drift apart.
 */

/** Symbols are upper-cased before the contract's pattern is checked ("nvda" is NVDA). */
export const TickerSymbol = z
  .string()
  .trim()
  .transform((s) => s.toUpperCase())
  .pipe(z.string().regex(SYMBOL_PATTERN, 'symbol must match ^[A-Z][A-Z0-9.-]{0,9}$ after upper-casing'))
  .describe('Ticker symbol, case-insensitive, e.g. NVDA');

/** An integer query parameter (strings are coerced) in min..max, with one message naming it for every way it can be wrong. */
export function integerIn(min: number, max: number, what: string) {
  return z.coerce
    .number({ error: `${what} must be an integer in ${min}..${max}` })
    .int(`${what} must be an integer in ${min}..${max}`)
    .min(min, `${what} must be an integer in ${min}..${max}`)
    .max(max, `${what} must be an integer in ${min}..${max}`);
}

export function intInRange(min: number, max: number, fallback: number, what: string) {
  return integerIn(min, max, what).default(fallback);
}

export const MAX_HORIZON = 60;
export const MAX_BATCH = 50;

export const SymbolParams = z.object({ symbol: TickerSymbol });
export const PredictQuery = z.object({ days: intInRange(1, MAX_HORIZON, 1, 'days').describe('Forecast horizon in trading days') });
export const TestForecastsQuery = z.object({
  days: intInRange(1, 5000, 250, 'days').describe('Most recent test days to return (more than the test split holds returns all of it)'),
});
export const HistoricalQuery = z.object({ days: intInRange(1, 5000, 30, 'days').describe('Number of most recent trading days') });

export const BatchPredictBody = z
  .object({
    symbols: z.array(z.string()).min(1, 'symbols must hold 1..50 symbols').max(MAX_BATCH, 'symbols must hold 1..50 symbols'),
    days: intInRange(1, MAX_HORIZON, 1, 'days').optional(),
  })
  .strict();

export const TrainBody = z
  .object({
    epochs: z.number().int().min(1).max(500).optional(),
    window: z.number().int().min(5).max(250).optional(),
    units: z.number().int().min(2).max(256).optional(),
    max_bars: z.number().int().min(100).max(20000).optional(),
  })
  .strict()
  .describe('Optional overrides of the training configuration');

export const JobParams = z.object({ id: z.string().uuid('job id must be a UUID') });

/** The catalog's codes (src/errors.ts); each always comes with the same HTTP status. */
export const ErrorCodeSchema = z
  .enum(ERROR_CODES)
  .describe(`Stable machine-readable error code; each code always has the same HTTP status: ${ERROR_CODES.map((c) => `${c} (${statusOf(c)})`).join(', ')}`);

export const ErrorBody = z.object({
  error: z.string().describe('Human-readable message'),
  status: z.number().int().describe('The HTTP status, repeated'),
  code: ErrorCodeSchema,
  timestamp: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  request_id: z.string().optional(),
});

export const ReliabilityBinBody = z.object({ from: z.number(), to: z.number(), mean_predicted: z.number(), observed: z.number(), count: z.number().int() });

export const HorizonScoreBody = z.object({
  steps: z.string().describe('Horizon step ("1", "5", "20", "60") or "1..60" for every step pooled'),
  count: z.number().int(),
  coverage_80: z.number(),
  coverage_95: z.number(),
  coverage_80_se: z.number().optional().describe('Standard error of coverage_80 on these days (Newey–West); next-day scores only, absent in models saved before it'),
  coverage_95_se: z.number().optional().describe('Standard error of coverage_95, as coverage_80_se'),
  interval_score_80: z.number().describe('Winkler interval score in log-return percent (lower is better)'),
  interval_score_95: z.number(),
  riskmetrics_coverage_80: z.number().describe('Random walk with EWMA-volatility Gaussian bands, same days'),
  riskmetrics_coverage_95: z.number(),
  riskmetrics_interval_score_80: z.number(),
  riskmetrics_interval_score_95: z.number(),
});

const ClassicalVolatilityBody = z.union([
  z.object({ kind: z.literal('ewma'), lambda: z.number() }),
  z.object({ kind: z.literal('garch'), alpha: z.number(), beta: z.number() }),
]);
const VolatilityModelBody = z.union([
  ClassicalVolatilityBody,
  z.object({ kind: z.literal('lstm_head'), window: z.number(), units: z.number() }).describe('The LSTM volatility head trained on the training split'),
]);

/** Where band multiples come from, and the adaptive step that moves them: the two halves of a band rule. */
const IntervalWindowBody = z.enum(INTERVAL_WINDOWS as [IntervalWindow, ...IntervalWindow[]]);
const AdaptiveRuleBody = z.object({ rate: z.number(), divide_by_step: z.boolean() });

/** What turns the network's output into the served numbers; all fitted before the test split. */
export const CalibrationBody = z.object({
  shrinkage: z.array(z.number()).describe('Per horizon step: served log return = factor × the network\'s (0 = naive, 1 = network as is), fitted on validation'),
  volatility: VolatilityModelBody.describe('Volatility model serving the bands and the expected volatility'),
  volatility_selection: z
    .object({ garch: ClassicalVolatilityBody, ewma_qlike: z.number(), garch_qlike: z.number(), head_qlike: z.number().optional().describe('Absent when the version has no LSTM head') })
    .describe('Validation QLIKE of each candidate; the lowest is served'),
  intervals: z
    .object({
      q80: z.array(z.number()),
      q95: z.array(z.number()),
      scaled_by: z.string(),
      degrees_of_freedom: z.number().optional().describe('Next-day degrees of freedom of the Student-t band sources; absent for the others'),
    })
    .describe('Band half-width multiples of the forecast volatility per step (conformal quantiles, Gaussian or Student-t)'),
  direction: z
    .object({ base_rate: z.number(), scale: z.number(), fitted_slope: z.number(), slope_t: z.number(), slope: z.number() })
    .describe('Probability of an up day: logistic around the base rate; the validation slope is shrunk by its t-statistic'),
  interval_window: IntervalWindowBody.describe('Where the band multiples come from: conformal quantiles on these days, or Gaussian or Student-t multiples (chosen on validation, see band_selection)'),
  adaptive_rule: AdaptiveRuleBody.describe('Adaptive conformal step per matured outcome: log(band multiplier) += rate (÷ horizon step if divide_by_step) × (miss − miss rate)'),
  band_selection: z
    .object({
      fit_days: z.number().int(),
      selection_days: z.number().int(),
      leave_series_out: z
        .boolean()
        .optional()
        .describe('true for a model of several symbols (the global model): each symbol’s later validation days were scored with bands fitted on the other symbols only, as for a symbol it never saw'),
      default_test: z
        .object({
          rule: AdaptiveRuleBody.extend({ window: IntervalWindowBody })
            .optional()
            .describe('The default rule (absent in models saved while it was Student-t multiples without adaptation)'),
          batch_days: z.number().int(),
          degrees_of_freedom: z.number().int().describe('Batches (two horizons, a horizon apart) − 1 of the series with the fewest, series without two batches left out; 0: too few days for a test, the default serves'),
          critical_t: z.number().optional().describe('Bonferroni critical t over the other candidates at 5 %'),
        })
        .optional()
        .describe('Batch-means test a candidate’s t_vs_default had to pass to replace the default rule; the lowest selection_score among those and the default was chosen. Absent in models saved before'),
      candidates: z.array(
        z.object({
          window: z.string(),
          rate: z.number(),
          divide_by_step: z.boolean(),
          interval_score: z.number().describe('pooled 1..horizon Winkler 80 + 95'),
          interval_score_step_1: z.number().optional().describe('1-day Winkler 80 + 95 (absent in models saved before it was scored)'),
          selection_score: z.number().optional().describe('interval_score / RiskMetrics’ + interval_score_step_1 / RiskMetrics’'),
          t_vs_default: z.number().optional().describe('Batch-means t of the default rule’s selection score minus this one’s, day by day: above default_test.critical_t it may replace the default'),
          coverage_80: z.number(),
          coverage_95: z.number(),
        }),
      ),
    })
    .describe('Validation-only choice of interval_window and adaptive_rule: each candidate fitted on the earlier validation days, scored on the later ones by pooled and 1-day Winkler 80 + 95, each relative to RiskMetrics'),
});

/**
 * Test-split scores, model against the naive last-close forecast on the same days. Fields added after
 * the first model versions were saved are optional: an older version's metadata does not have them.
 */
export const EvaluationBody = z.object({
  mae: z.number(),
  naive_mae: z.number(),
  mae_ratio: z.number().describe('mae / naive_mae; below 1 means a lower error than naive'),
  naive_dm_p_value: z.number().optional().describe("One-sided Diebold–Mariano p-value of \"the model's absolute errors are smaller than naive's\""),
  rmse: z.number(),
  naive_rmse: z.number().optional(),
  mape: z.number(),
  naive_mape: z.number().optional(),
  drift_mae: z.number().optional().describe('MAE of the drift (average daily return) forecast'),
  moving_average_mae: z.number().optional().describe('MAE of the moving-average forecast'),
  hit_rate: z.number().describe('Share of test days whose next-day direction the served forecast called right (the side its probability of an up day favours)'),
  lstm_hit_rate: z.number().optional().describe("The same for the raw network's next-day move"),
  always_up_hit_rate: z.number(),
  interval_coverage_80: z.number(),
  interval_coverage_95: z.number().optional(),
  change_correlation: z.number().optional().describe('Correlation of predicted vs actual one-day changes'),
  test_from: z.string(),
  test_to: z.string(),
  test_days: z.number().optional(),
  lstm_mae: z.number().optional().describe("The raw network's next-day MAE (mae scores the served, calibrated forecast)"),
  lstm_mae_ratio: z.number().optional().describe('lstm_mae / naive_mae'),
  brier: z.number().optional().describe('Brier score of the served probability of an up day'),
  base_rate_brier: z.number().optional().describe('Brier score of the constant base rate of up days (estimated before the test split)'),
  base_rate: z.number().optional(),
  reliability: z.array(ReliabilityBinBody).optional().describe('Probability of an up day: predicted vs observed by bin, on the test split'),
  horizons: z.array(HorizonScoreBody).optional().describe('Band coverage and Winkler interval score by horizon step, beside RiskMetrics'),
  volatility_model: z.enum(['ewma', 'garch', 'lstm_head']).optional().describe('The volatility model serving bands and volatility'),
  volatility_qlike: z.number().optional().describe('QLIKE of its variance forecasts (lower is better), pooled over horizons'),
  ewma_qlike: z.number().optional().describe('QLIKE of the RiskMetrics EWMA on the same days'),
  garch_qlike: z.number().optional().describe('QLIKE of the GARCH(1,1) fitted on the training split, same days'),
  head_qlike: z.number().optional().describe('QLIKE of the LSTM volatility head trained on the training split, same days (absent without a head)'),
});

export const ForecastPointBody = z.object({
  date: z.string(),
  price: z.number().describe('Served (calibrated) price: the network shrunk towards naive by its validated skill'),
  lstm_price: z.number().describe("The network's raw price, shown beside the served one"),
  volatility: z.number().describe('Expected volatility: forecast standard deviation of the log return from the last close to this day'),
  lower_80: z.number(),
  upper_80: z.number(),
  lower_95: z.number(),
  upper_95: z.number(),
});

export const ModelOriginBody = z
  .object({
    kind: z.literal('keras_import'),
    imported_at: z.string(),
    model_file: z.string(),
    model_sha256: z.string(),
    layout: z.string().describe('keras2 or keras3-legacy-h5'),
    keras_version: z.string(),
    scaler_file: z.string(),
    scaler_sha256: z.string(),
    scaler_format: z.string().describe('pickle, joblib or json'),
    scaler_types: z.object({ features: z.string(), target: z.string() }),
    layers: z.array(z.string()),
    inputs: z.array(z.string()),
    output: z.literal('next_close'),
    multi_step: z.enum(['iterated', 'single_step']).describe('iterated: days after the first come from running the network on its own output'),
    caveat: z.string(),
  })
  .describe('Present only for a model imported from another system (a Keras HDF5 file): where it came from and how its output is used');

export const ModelSummaryBody = z.object({
  name: z.string(),
  key: z.string().describe('Model key: the lower-case symbol, or "global" for the model trained on all symbols'),
  version: z.string(),
  trained_at: z.string(),
  window: z.number(),
  horizon: z.number(),
  features: z.array(z.string()),
  backend: z.string(),
  evaluation: EvaluationBody,
  beats_naive: z.boolean(),
  fallback: z.boolean().describe('True when the symbol has no model of its own and the global model answered'),
  origin: ModelOriginBody.optional(),
});

export const TestForecastsBody = z.object({
  symbol: z.string(),
  model: z.string().describe('Name of the model whose test split this is'),
  key: z.string().describe('Model key: the lower-case symbol, or "global"'),
  version: z.string(),
  fallback: z.boolean().describe("True when the symbol has no model of its own: the global model's test forecasts for this symbol"),
  test_from: z.string().nullable().describe("First day of the symbol's test split (null when the version recorded no test forecasts)"),
  test_to: z.string().nullable(),
  count: z.number().int(),
  points: z.array(
    z.object({
      date: z.string().describe('The day being predicted (held out: never seen in training, scaling or calibration)'),
      actual: z.number().describe('Realised adjusted close'),
      predicted: z.number().describe('The served (calibrated) next-day forecast made the trading day before'),
      lstm_predicted: z.number().optional().describe("The network's raw forecast that day"),
      probability_up: z.number().optional().describe('The served probability that this close is above the previous one'),
      lower_80: z.number(),
      upper_80: z.number(),
      lower_95: z.number(),
      upper_95: z.number(),
      naive: z.number().describe('The naive forecast: the previous adjusted close'),
      horizons: z
        .array(
          z.object({
            step: z.number().int().describe('Trading days ahead of the forecast day (5, 20 or 60)'),
            actual: z.number(),
            predicted: z.number(),
            lstm_predicted: z.number(),
            lower_80: z.number(),
            upper_80: z.number(),
            lower_95: z.number(),
            upper_95: z.number(),
          }),
        )
        .optional()
        .describe('The same forecast at the longer reported steps whose day has realised inside the test split'),
    }),
  ),
});

export const PredictionBody = z.object({
  symbol: z.string(),
  current_price: z.number(),
  predicted_price: z.number().describe("Next trading day's predicted close"),
  trading_signal: z.enum(['BUY', 'SELL', 'HOLD']),
  confidence: z.number().min(0).max(1).describe('Calibrated probability that the more likely next-day direction is right: max(probability_up, 1 - probability_up)'),
  probability_up: z.number().min(0).max(1).describe('Calibrated probability that the next close is above the current one (near the base rate without validated skill)'),
  lstm_predicted_price: z.number().describe("The network's raw next-day price (predicted_price is the served, calibrated one)"),
  prediction_time: z.string(),
  model_version: z.string(),
  as_of: z.string().describe('Date of the last bar the prediction used'),
  predicted_change_pct: z.number(),
  days: z.number().int(),
  forecast: z.array(ForecastPointBody),
  baseline: z.object({ method: z.literal('naive'), predicted_price: z.number() }),
  model: ModelSummaryBody,
  data_source: z.string(),
  cached: z.boolean(),
});

export const BatchPredictionBody = z.object({
  predictions: z.array(PredictionBody),
  errors: z.array(z.object({ symbol: z.string(), error: z.string(), status: z.number().int(), code: ErrorCodeSchema })),
});

export const HistoricalBody = z.object({
  symbol: z.string(),
  days: z.number().int(),
  count: z.number().int(),
  data: z.array(
    z.object({
      symbol: z.string(),
      date: z.string().describe('Trading date on the exchange (YYYY-MM-DD)'),
      timestamp: z.string().describe("The trading session's regular close, 16:00 America/New_York, in UTC (20:00Z in summer, 21:00Z in winter)"),
      open: z.number(),
      high: z.number(),
      low: z.number(),
      close: z.number(),
      adj_close: z.number(),
      volume: z.number(),
    }),
  ),
});

export const ModelStatus = z.enum(['ready', 'failed', 'loading']);

export const ModelListItem = z.object({
  symbol: z.string().nullable().describe("The symbol this is the own model of; null for the global model, which is nobody's own"),
  scope: z.enum(['symbol', 'global']).describe('symbol: one symbol\'s own model; global: trained on all symbols, answers for symbols without their own'),
  key: z.string().describe('Model key: the lower-case symbol ("_global" for a ticker named GLOBAL), or "global" for the global model'),
  name: z.string(),
  version: z.string().nullable(),
  status: ModelStatus,
  trained_at: z.string().nullable(),
  window: z.number().nullable(),
  horizon: z.number().nullable(),
  features: z.array(z.string()),
  backend: z.string().nullable(),
  evaluation: EvaluationBody.nullable(),
  beats_naive: z.boolean().nullable(),
  inference: z
    .object({
      path: z.enum(['fused', 'tfjs']).describe('fused: typed-array forward pass; tfjs: the tfjs graph (see reason)'),
      reason: z.string().optional(),
    })
    .nullable()
    .describe('Which code runs the forward pass of the served version'),
  origin: ModelOriginBody.optional(),
  error: z.string().optional(),
});

export const ModelListBody = z.object({ count: z.number().int(), models: z.array(ModelListItem) });

export const VersionBody = z.object({
  version: z.string(),
  current: z.boolean(),
  complete: z.boolean(),
  trained_at: z.string().optional(),
  backend: z.string().optional(),
  data_to: z.string().optional(),
  mae: z.number().optional(),
  naive_mae: z.number().optional(),
  mae_ratio: z.number().optional(),
  hit_rate: z.number().optional(),
  beats_naive: z.boolean().optional(),
  error: z.string().optional(),
});

export const ModelDetailBody = ModelListItem.extend({
  fallback: z.boolean().describe('True when the symbol has no model of its own and the global model is shown'),
  calibration: CalibrationBody.nullable(),
  training_config: z.record(z.string(), z.unknown()).nullable(),
  data: z.record(z.string(), z.unknown()).nullable(),
  timings: z.record(z.string(), z.unknown()).nullable(),
  versions: z.array(VersionBody),
});

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed']);

export const JobBody = z.object({
  job_id: z.string(),
  symbol: z.string(),
  status: JobStatus,
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  progress: z
    .object({ epoch: z.number(), epochs: z.number(), loss: z.number(), val_loss: z.number(), eta_seconds: z.number(), percent: z.number() })
    .nullable(),
  result: z
    .object({ version: z.string(), mae_ratio: z.number().nullable(), beats_naive: z.boolean().nullable() })
    .nullable(),
  error: z.string().nullable(),
});

export const JobAcceptedBody = z.object({ job_id: z.string(), status: JobStatus, symbol: z.string(), status_url: z.string() });

export const ReloadBody = z.object({
  message: z.string(),
  loaded: z.array(z.object({ key: z.string(), version: z.string() })),
  unchanged: z.array(z.string()),
  failed: z.array(z.object({ key: z.string(), error: z.string() })),
  time: z.string(),
});

export const ServiceHealth = z.object({
  status: z.enum(['healthy', 'degraded', 'unhealthy', 'disabled']),
  message: z.string(),
});

export const HealthBody = z.object({
  status: z.enum(['healthy', 'degraded', 'unhealthy']),
  timestamp: z.string(),
  version: z.string(),
  uptime_seconds: z.number(),
  services: z.object({ redis: ServiceHealth, data_source: ServiceHealth, models: ServiceHealth, disk: ServiceHealth, load: ServiceHealth }),
});

export const ProbeBody = z.object({ status: z.string(), timestamp: z.string() });

export const TierStatsBody = z.object({
  status: z.string(),
  size: z.number().nullable(),
  hits: z.number(),
  misses: z.number(),
});

const MemoSizeBody = z.object({ size: z.number(), max: z.number().describe('Bound; beyond it the least recently used entry is dropped') });

export const StatsBody = z.object({
  cache: z.object({
    size: z.number().describe('Entries in the in-process tier'),
    default_ttl: z.number().describe('Prediction TTL in seconds'),
    hits: z.number(),
    misses: z.number(),
    tiers: z.record(z.string(), TierStatsBody),
    memos: z
      .object({
        bars: MemoSizeBody.describe('Symbols whose bars are reused for up to a second'),
        outage_fallback_keys: MemoSizeBody.describe('(symbol, days) pairs whose last cached answer is served while the data source is down'),
      })
      .describe('In-process memos of the prediction service, each an LRU'),
  }),
  models: z.object({
    total: z.number(),
    ready: z.number(),
    failed: z.number(),
    loading: z.number(),
    backend: z.string(),
    inference: z.object({ fused: z.number(), tfjs: z.number() }).describe('Served models per forward-pass path'),
  }),
  system: z.object({
    uptime_seconds: z.number(),
    memory_rss_bytes: z.number(),
    memory_heap_used_bytes: z.number(),
    node_version: z.string(),
    pid: z.number(),
    version: z.string(),
  }),
});

/** 304 to a matching If-None-Match: no body (the client's copy, named by its ETag, is current). */
export const NotModifiedBody = z.null().describe('Not modified: no body');

export const CacheClearedBody = z.object({ message: z.string(), time: z.string() });

export const RootBody = z.object({
  service: z.string(),
  version: z.string(),
  status: z.string(),
  time: z.string(),
  links: z.record(z.string(), z.string()),
});
