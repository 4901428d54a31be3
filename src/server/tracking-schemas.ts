import { z } from 'zod';
import { isIsoDate } from '../market/validation.js';
import { SYMBOL_PATTERN } from '../market/bar.js';
import { HORIZON_BUCKETS } from '../tracking/scoring.js';
import type { DailyRun } from '../tracking/store.js';
import { integerIn, intInRange, MAX_HORIZON, TickerSymbol } from './schemas.js';

/** Schemas of the v3.4 prediction-tracking routes (/api/v1/predictions/...), with its field names. */

const IsoDate = z.string().trim().refine(isIsoDate, 'must be a date YYYY-MM-DD');

/** v3.4 sent RFC 3339 timestamps ("2024-03-01T00:00:00Z"); a plain date is accepted too. The date part counts. */
const DateOrTimestamp = z
  .string()
  .trim()
  .transform((raw, ctx) => {
    const date = raw.slice(0, 10);
    if (!isIsoDate(date) || (raw.length > 10 && Number.isNaN(Date.parse(raw)))) {
      ctx.addIssue({ code: 'custom', message: 'date must be YYYY-MM-DD or an RFC 3339 timestamp' });
      return z.NEVER;
    }
    return date;
  });

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

const SymbolList = z
  .string()
  .transform((raw) => raw.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s.length > 0))
  .pipe(z.array(z.string().regex(SYMBOL_PATTERN, 'every symbol must match ^[A-Z][A-Z0-9.-]{0,9}$')).max(100, 'at most 100 symbols'));

const common = {
  horizon: integerIn(1, MAX_HORIZON, 'horizon').optional().describe('Only this forecast step (1 = next session)'),
  include_in_sample: flag.default(false).describe('Also count rows whose target day was inside the model’s fitting data'),
  source: z.enum(['all', 'live', 'backfilled']).default('all').describe('live: forecasts issued before their outcome existed; backfilled: replays'),
};

/** Routes without parameters refuse unknown ones too, so a typo is a 400 and not silently ignored. */
export const NoQuery = z.object({}).strict();

/** Target days from/to (inclusive), in order. */
const targetDays = {
  start_date: IsoDate.optional().describe('First target day (inclusive)'),
  end_date: IsoDate.optional().describe('Last target day (inclusive)'),
};
const ordered = (q: { start_date?: string | undefined; end_date?: string | undefined }) => !q.start_date || !q.end_date || q.start_date <= q.end_date;
const orderMessage = { message: 'start_date must not be after end_date', path: ['start_date'] };

export const AccuracyQuery = z
  .object({ ...targetDays, ...common })
  .strict()
  .refine(ordered, orderMessage);

export const AccuracyRangeQuery = z
  .object({
    ...targetDays,
    symbols: SymbolList.optional().describe('Comma-separated symbols (default: all)'),
    group_by: z.enum(['symbol', 'date', 'horizon', 'model', 'source']).default('symbol'),
    ...common,
  })
  .strict()
  .refine(ordered, orderMessage);

export const HistoryQuery = z
  .object({
    start_date: IsoDate.optional().describe('First issue day (inclusive)'),
    end_date: IsoDate.optional().describe('Last issue day (inclusive)'),
    limit: intInRange(1, 1000, 100, 'limit'),
    offset: intInRange(0, 10_000_000, 0, 'offset'),
    order_by: z.enum(['date', 'accuracy', 'confidence']).default('date'),
    order_dir: z.enum(['asc', 'desc']).default('desc'),
    matured: flag.optional().describe('true: only scored rows; false: only rows still waiting for their day'),
    ...common,
  })
  .strict();

export const TrendsQuery = z
  .object({
    days: intInRange(1, 3650, 30, 'days').describe('Most recent target days'),
    window: intInRange(1, 3650, 20, 'window').describe('Target days the rolling MAE ratio spans'),
    ...common,
  })
  .strict();

export const ReliabilityQuery = z
  .object({
    ...targetDays,
    symbols: SymbolList.optional().describe('Comma-separated symbols (default: all)'),
    bins: intInRange(1, 50, 10, 'bins').describe('Equal-count bins of confidence'),
    include_in_sample: common.include_in_sample,
    source: common.source,
  })
  .strict()
  .refine(ordered, orderMessage);
export const TopPerformersQuery = z
  .object({
    limit: intInRange(1, 100, 10, 'limit'),
    min_matured: intInRange(1, 1_000_000, 5, 'min_matured').describe('Only symbols with at least this many matured forecasts'),
    ...common,
  })
  .strict();

export const DailyRunRequest = z
  .object({
    symbols: z.array(TickerSymbol).min(1, 'symbols must hold 1..100 symbols').max(100, 'symbols must hold 1..100 symbols').optional(),
    date: DateOrTimestamp.optional().describe('Issue forecasts after this session’s close, from the bars known then (default: the last closed session)'),
    force_execute: z.boolean().default(false).describe('Run even if the market was closed on that date'),
  })
  .strict();

export const UpdateActualRequest = z
  .object({
    symbol: TickerSymbol,
    date: DateOrTimestamp.describe('The session whose close this is'),
    actual_close: z.number().positive('actual_close must be a positive number').finite(),
  })
  .strict();

const nullableNumber = z.number().nullable();

export const AccuracyFiguresBody = z.object({
  total_predictions: z.number().int(),
  predictions_with_actual: z.number().int().describe('Matured (scored) forecasts'),
  live_predictions: z.number().int(),
  backfilled_predictions: z.number().int(),
  mae: nullableNumber,
  naive_mae: nullableNumber.describe('The naive (last close at issue) forecast’s MAE on the same rows'),
  mae_ratio: nullableNumber.describe('mae / naive_mae: below 1 beat the naive forecast'),
  rmse: nullableNumber,
  naive_rmse: nullableNumber,
  average_accuracy_mape: nullableNumber.describe('MAPE in %'),
  naive_mape: nullableNumber,
  hit_rate: nullableNumber.describe('Share of matured forecasts with the right direction (0–1)'),
  always_up_hit_rate: nullableNumber.describe('What "always up" scored on the same rows'),
  direction_accuracy: nullableNumber.describe('hit_rate in %'),
  coverage_80: nullableNumber,
  coverage_95: nullableNumber,
  average_confidence: nullableNumber,
  brier_score: nullableNumber.describe('Brier score of confidence as P(direction right), step-1 rows'),
  brier_constant: nullableNumber.describe('Brier score of the best constant probability on the same rows'),
  brier_rows: z.number().int(),
  best_accuracy: nullableNumber.describe('Lowest percentage error'),
  worst_accuracy: nullableNumber.describe('Highest percentage error'),
  last_prediction_date: z.string().nullable(),
});

export const AccuracyGroupBody = AccuracyFiguresBody.extend({ group: z.string() });

const SymbolFiguresBody = AccuracyFiguresBody.extend({ symbol: z.string() });

export const SymbolAccuracyBody = SymbolFiguresBody.extend({
  by_horizon: z.array(AccuracyGroupBody).describe(`Per horizon bucket: ${HORIZON_BUCKETS.join(', ')}`),
  by_source: z.array(AccuracyGroupBody).describe('Live and backfilled rows apart (group "live" / "backfilled")'),
});

export const ReliabilityBody = z.object({
  symbols: z.array(z.string()).nullable().describe('null: every symbol'),
  start_date: z.string().nullable(),
  end_date: z.string().nullable(),
  source: z.enum(['all', 'live', 'backfilled']),
  rows: z.number().int().describe('Matured forecasts that carry confidence (step 1)'),
  average_confidence: nullableNumber,
  hit_rate: nullableNumber.describe('Observed share with the right direction over all binned rows'),
  brier_score: nullableNumber,
  brier_constant: nullableNumber.describe('Brier score of always saying the observed hit rate'),
  bins: z.array(
    z.object({
      bin: z.number().int(),
      count: z.number().int(),
      live: z.number().int(),
      backfilled: z.number().int(),
      confidence_min: z.number(),
      confidence_max: z.number(),
      mean_confidence: z.number().describe('Predicted probability that the direction is right'),
      observed_hit_rate: z.number().describe('Observed frequency of a right direction'),
    }),
  ),
});

export const AccuracySummaryBody = AccuracyFiguresBody.extend({
  start_date: z.string().nullable(),
  end_date: z.string().nullable(),
  by_horizon: z.array(AccuracyGroupBody),
  by_symbol: z.array(AccuracyGroupBody),
});

export const AccuracyRangeBody = z.object({
  start_date: z.string().nullable(),
  end_date: z.string().nullable(),
  group_by: z.string(),
  groups: z.array(AccuracyGroupBody),
});

export const HistoryRow = z.object({
  id: z.number().int(),
  symbol: z.string(),
  issue_date: z.string().describe('The session whose close the forecast was issued after'),
  target_date: z.string().describe('The session forecast'),
  prediction_date: z.string().describe('v3.4 name of target_date'),
  horizon: z.number().int(),
  model_key: z.string(),
  model_version: z.string(),
  predicted_price: z.number(),
  lower_80: z.number(),
  upper_80: z.number(),
  lower_95: z.number(),
  upper_95: z.number(),
  predicted_direction: z.enum(['up', 'down']),
  trading_signal: z.string(),
  confidence: z.number().nullable(),
  probability_up: z.number().nullable().describe('Step 1: probability of an up close; predicted_direction is the side it favours'),
  naive_forecast: z.number(),
  actual_close: z.number().nullable(),
  abs_error: z.number().nullable(),
  accuracy_mape: z.number().nullable().describe('Percentage error of this forecast'),
  naive_abs_error: z.number().nullable(),
  direction_correct: z.boolean().nullable(),
  inside_80: z.boolean().nullable(),
  inside_95: z.boolean().nullable(),
  market_was_open: z.boolean(),
  backfilled: z.boolean(),
  in_sample: z.boolean(),
  prediction_timestamp: z.string(),
  actual_price_timestamp: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export const HistoryBody = z.array(HistoryRow);

export const DailyRunBody = z.object({
  id: z.number().int(),
  execution_date: z.string(),
  execution_type: z.string(),
  status: z.enum(['running', 'completed', 'failed', 'skipped']),
  symbols_processed: z.array(z.string()),
  symbols_succeeded: z.array(z.string()),
  symbols_failed: z.array(z.object({ symbol: z.string(), error: z.string() })),
  total_symbols: z.number().int(),
  successful_predictions: z.number().int(),
  failed_predictions: z.number().int(),
  recorded_forecasts: z.number().int(),
  scored_forecasts: z.number().int(),
  execution_duration_ms: z.number().nullable(),
  error_message: z.string().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
});

type DailyRunOutput = z.output<typeof DailyRunBody>;

/** A daily run as the API and the tracking CLI show it: the store keeps the symbol lists as JSON text. */
export function dailyRunBody(run: DailyRun): DailyRunOutput {
  const succeeded = JSON.parse(run.symbols_succeeded) as string[];
  const failed = JSON.parse(run.symbols_failed) as { symbol: string; error: string }[];
  return {
    id: run.id,
    execution_date: run.execution_date,
    execution_type: run.execution_type,
    status: run.status as DailyRunOutput['status'],
    symbols_processed: [...succeeded, ...failed.map((f) => f.symbol)],
    symbols_succeeded: succeeded,
    symbols_failed: failed,
    total_symbols: run.total_symbols,
    successful_predictions: run.successful_predictions,
    failed_predictions: run.failed_predictions,
    recorded_forecasts: run.recorded_forecasts,
    scored_forecasts: run.scored_forecasts,
    execution_duration_ms: run.execution_duration_ms === null ? null : Number(run.execution_duration_ms),
    error_message: run.error_message,
    created_at: run.created_at,
    completed_at: run.completed_at,
  };
}

export const DailyStatusBody = z.object({
  last_execution_date: z.string().nullable(),
  last_execution_status: z.string().nullable(),
  next_scheduled_run: z.string().nullable(),
  is_enabled: z.boolean(),
  total_symbols: z.number().int(),
  successful_symbols: z.number().int(),
  failed_symbols: z.number().int(),
  execution_duration_ms: z.number().nullable(),
  error_message: z.string().nullable(),
  last_run: DailyRunBody.nullable(),
});

export const PerformanceBody = z.object({
  total_symbols: z.number().int(),
  total_predictions: z.number().int(),
  predictions_with_actual: z.number().int(),
  overall_accuracy_mape: z.number().nullable(),
  overall_direction_accuracy: z.number().nullable(),
  overall: AccuracyFiguresBody,
  symbol_summaries: z.array(SymbolFiguresBody),
  last_execution_date: z.string().nullable(),
  last_execution_status: z.string().nullable(),
});

export const TrendsBody = z.object({
  symbol: z.string(),
  days: z.number().int(),
  window: z.number().int(),
  trends: z.array(
    z.object({
      date: z.string(),
      total_predictions: z.number().int(),
      predictions_with_actual: z.number().int(),
      avg_accuracy_mape: z.number().nullable(),
      direction_accuracy: z.number().nullable(),
      mae: z.number().nullable(),
      naive_mae: z.number().nullable(),
      mae_ratio: z.number().nullable(),
      coverage_80: z.number().nullable(),
      rolling_mae_ratio: z.number().nullable().describe('MAE ratio to naive over this target day and the window − 1 before it'),
    }),
  ),
});

export const TopPerformersBody = z.array(SymbolFiguresBody);

export const UpdateActualBody = z.object({ status: z.literal('success'), symbol: z.string(), date: z.string(), scored: z.number().int() });
