import type { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isTradingDay, lastClosedSession } from '../../calendar/nyse.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { accuracyBy } from '../../tracking/accuracy.js';
import { reliabilityBins } from '../../tracking/reliability.js';
import { predictedDirection, summarize } from '../../tracking/scoring.js';
import type { ForecastQuery, StoredForecast } from '../../tracking/store.js';
import { requireApiKey } from '../auth.js';
import type { DailyScheduler } from '../daily-scheduler.js';
import { ErrorBody, SymbolParams } from '../schemas.js';
import type { Services } from '../services.js';
import type { Tracking } from '../tracking.js';
import {
  AccuracyQuery,
  AccuracyRangeBody,
  AccuracyRangeQuery,
  AccuracySummaryBody,
  DailyRunBody,
  DailyRunRequest,
  DailyStatusBody,
  HistoryBody,
  HistoryQuery,
  HistoryRow,
  NoQuery,
  PerformanceBody,
  ReliabilityBody,
  ReliabilityQuery,
  SymbolAccuracyBody,
  TopPerformersBody,
  TopPerformersQuery,
  TrendsBody,
  TrendsQuery,
  UpdateActualBody,
  UpdateActualRequest,
  dailyRunBody,
} from '../tracking-schemas.js';

function historyRow(row: StoredForecast): z.output<typeof HistoryRow> {
  const o = row.outcome;
  return {
    id: row.id,
    symbol: row.symbol,
    issue_date: row.issue_date,
    target_date: row.target_date,
    prediction_date: row.target_date,
    horizon: row.horizon,
    model_key: row.model_key,
    model_version: row.model_version,
    predicted_price: row.forecast,
    lower_80: row.lower_80,
    upper_80: row.upper_80,
    lower_95: row.lower_95,
    upper_95: row.upper_95,
    predicted_direction: predictedDirection(row),
    trading_signal: row.signal,
    confidence: row.confidence,
    probability_up: row.probability_up,
    naive_forecast: row.naive_forecast,
    actual_close: o?.actual ?? null,
    abs_error: o?.abs_error ?? null,
    accuracy_mape: o?.pct_error ?? null,
    naive_abs_error: o?.naive_abs_error ?? null,
    direction_correct: o ? o.direction_correct : null,
    inside_80: o ? o.inside_80 : null,
    inside_95: o ? o.inside_95 : null,
    market_was_open: isTradingDay(row.target_date),
    backfilled: row.backfilled,
    in_sample: row.in_sample,
    prediction_timestamp: row.created_at,
    actual_price_timestamp: row.scored_at,
    created_at: row.created_at,
    updated_at: row.scored_at ?? row.created_at,
  };
}

interface CommonFilters {
  readonly start_date?: string | undefined;
  readonly end_date?: string | undefined;
  readonly horizon?: number | undefined;
  readonly include_in_sample: boolean;
  readonly source: 'all' | 'live' | 'backfilled';
}

/** The target-day range, step, in-sample and live/backfilled filters every accuracy route takes. */
function accuracyFilter(q: CommonFilters): ForecastQuery {
  return {
    targetFrom: q.start_date,
    targetTo: q.end_date,
    horizons: q.horizon ? [q.horizon] : undefined,
    includeInSample: q.include_in_sample,
    backfilled: q.source === 'all' ? undefined : q.source === 'backfilled',
  };
}

const readErrors = { 400: ErrorBody, 429: ErrorBody, 503: ErrorBody };
const writeErrors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };
const tags = ['prediction tracking'];

/**
 * The v3.4 tracking API with its defects fixed: static paths are registered before `:symbol` ones (and Fastify's
 * router prefers static segments anyway, so none shadows another), every order_by works, lists are never null,
 * bad input is a 400 in the contract's error shape, and every accuracy figure stands beside the naive forecast's.
 */
export const predictionRoutes: FastifyPluginAsyncZod<{ services: Services; tracking: Tracking; scheduler: DailyScheduler }> = async (
  app,
  { services, tracking, scheduler },
) => {
  const guard = requireApiKey(services.config.apiKeys);
  const matured = (q: ForecastQuery) => tracking.store().query({ ...q, matured: true });

  app.get(
    '/api/v1/predictions/daily-status',
    { schema: { tags, summary: 'The last daily run and the next scheduled one', querystring: NoQuery, response: { 200: DailyStatusBody, ...readErrors } } },
    async () => {
      const last = await tracking.store().lastRun(['scheduled', 'manual']);
      const body = last ? dailyRunBody(last) : null;
      return {
        last_execution_date: body?.execution_date ?? null,
        last_execution_status: body?.status ?? null,
        next_scheduled_run: scheduler.nextRun()?.toISOString() ?? null,
        is_enabled: services.config.dailyPrediction.enabled,
        total_symbols: body?.total_symbols ?? 0,
        successful_symbols: body?.symbols_succeeded.length ?? 0,
        failed_symbols: body?.symbols_failed.length ?? 0,
        execution_duration_ms: body?.execution_duration_ms ?? null,
        error_message: body?.error_message ?? null,
        last_run: body,
      };
    },
  );

  app.get(
    '/api/v1/predictions/accuracy/summary',
    {
      schema: {
        tags,
        summary: 'Out-of-sample accuracy of every matured forecast, overall, per horizon bucket and per symbol',
        querystring: AccuracyQuery,
        response: { 200: AccuracySummaryBody, ...readErrors },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await matured(accuracyFilter(q));
      return {
        ...summarize(rows),
        start_date: q.start_date ?? null,
        end_date: q.end_date ?? null,
        by_horizon: accuracyBy(rows, 'horizon'),
        by_symbol: accuracyBy(rows, 'symbol'),
      };
    },
  );

  app.get(
    '/api/v1/predictions/accuracy/range',
    {
      schema: {
        tags,
        summary: 'Accuracy of the forecasts whose target day lies in a range, grouped by symbol, date, horizon bucket or model',
        querystring: AccuracyRangeQuery,
        response: { 200: AccuracyRangeBody, ...readErrors },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await matured({ ...accuracyFilter(q), symbols: q.symbols });
      return { start_date: q.start_date ?? null, end_date: q.end_date ?? null, group_by: q.group_by, groups: accuracyBy(rows, q.group_by) };
    },
  );

  app.get(
    '/api/v1/predictions/accuracy/reliability',
    {
      schema: {
        tags,
        summary: 'Reliability diagram of confidence: predicted vs observed direction hit rate per equal-count bin, with counts',
        querystring: ReliabilityQuery,
        response: { 200: ReliabilityBody, ...readErrors },
      },
    },
    async (request) => {
      const q = request.query;
      // confidence is issued on step 1 only, the step it is a probability for.
      const rows = await matured({ ...accuracyFilter({ ...q, horizon: 1 }), symbols: q.symbols });
      const figures = summarize(rows);
      return {
        symbols: q.symbols ?? null,
        start_date: q.start_date ?? null,
        end_date: q.end_date ?? null,
        source: q.source,
        rows: figures.brier_rows,
        average_confidence: figures.average_confidence,
        hit_rate: summarize(rows.filter((r) => r.confidence !== null)).hit_rate,
        brier_score: figures.brier_score,
        brier_constant: figures.brier_constant,
        bins: reliabilityBins(rows, q.bins),
      };
    },
  );

  app.get(
    '/api/v1/predictions/accuracy/:symbol',
    {
      schema: {
        tags,
        summary: "A symbol's out-of-sample accuracy (every figure beside the naive forecast's on the same days)",
        params: SymbolParams,
        querystring: AccuracyQuery,
        response: { 200: SymbolAccuracyBody, ...readErrors },
      },
    },
    async (request) => {
      const { symbol } = request.params;
      const q = request.query;
      const rows = await tracking.store().query({ ...accuracyFilter(q), symbols: [symbol] });
      return { symbol, ...summarize(rows), by_horizon: accuracyBy(rows, 'horizon'), by_source: accuracyBy(rows, 'source') };
    },
  );

  const history = async (symbol: string | undefined, q: z.output<typeof HistoryQuery>) => {
    const rows = await tracking.store().query({
      ...accuracyFilter({ ...q, start_date: undefined, end_date: undefined }),
      symbols: symbol ? [symbol] : undefined,
      // History filters by issue day: what was forecast on those days.
      from: q.start_date,
      to: q.end_date,
      matured: q.matured,
      limit: q.limit,
      offset: q.offset,
      orderBy: q.order_by,
      orderDir: q.order_dir,
    });
    return rows.map(historyRow);
  };
  const historySchema = { tags, querystring: HistoryQuery, response: { 200: HistoryBody, ...readErrors } };
  app.get('/api/v1/predictions/history', { schema: { ...historySchema, summary: 'Tracked forecasts of every symbol, issue and target date' } }, async (request) =>
    history(undefined, request.query),
  );
  app.get(
    '/api/v1/predictions/history/:symbol',
    { schema: { ...historySchema, summary: "A symbol's tracked forecasts", params: SymbolParams } },
    async (request) => history(request.params.symbol, request.query),
  );

  app.get(
    '/api/v1/predictions/performance',
    {
      schema: { tags, summary: 'Accuracy of every tracked symbol and of the daily runs', querystring: NoQuery, response: { 200: PerformanceBody, ...readErrors } },
    },
    async () => {
      const store = tracking.store();
      const rows = await store.query({});
      const overall = summarize(rows);
      const last = await store.lastRun(['scheduled', 'manual']);
      const symbols = accuracyBy(rows, 'symbol').map(({ group, ...figures }) => ({ symbol: group, ...figures }));
      return {
        total_symbols: symbols.length,
        total_predictions: overall.total_predictions,
        predictions_with_actual: overall.predictions_with_actual,
        overall_accuracy_mape: overall.average_accuracy_mape,
        overall_direction_accuracy: overall.direction_accuracy,
        overall,
        symbol_summaries: symbols,
        last_execution_date: last?.execution_date ?? null,
        last_execution_status: last?.status ?? null,
      };
    },
  );

  app.get(
    '/api/v1/predictions/trends/:symbol',
    {
      schema: {
        tags,
        summary: "A symbol's accuracy per target day over its last N tracked days, with the rolling ratio to naive",
        params: SymbolParams,
        querystring: TrendsQuery,
        response: { 200: TrendsBody, ...readErrors },
      },
    },
    async (request) => {
      const { symbol } = request.params;
      const q = request.query;
      const rows = await tracking.store().query({ ...accuracyFilter(q), symbols: [symbol] });
      const all = accuracyBy(rows, 'date');
      // Error sums per target day; the rolling ratio divides the sums over the window, so it weighs every matured
      // forecast once, and its first shown day already looks back over days before the ones shown.
      const absSums = all.map((d) => (d.mae ?? 0) * d.predictions_with_actual);
      const naiveSums = all.map((d) => (d.naive_mae ?? 0) * d.predictions_with_actual);
      const first = Math.max(0, all.length - q.days);
      return {
        symbol,
        days: q.days,
        window: q.window,
        trends: all.slice(first).map((d, i) => {
          const end = first + i + 1;
          const from = Math.max(0, end - q.window);
          const absSum = absSums.slice(from, end).reduce((a, b) => a + b, 0);
          const naiveSum = naiveSums.slice(from, end).reduce((a, b) => a + b, 0);
          return {
            date: d.group,
            total_predictions: d.total_predictions,
            predictions_with_actual: d.predictions_with_actual,
            avg_accuracy_mape: d.average_accuracy_mape,
            direction_accuracy: d.direction_accuracy,
            mae: d.mae,
            naive_mae: d.naive_mae,
            mae_ratio: d.mae_ratio,
            coverage_80: d.coverage_80,
            rolling_mae_ratio: naiveSum > 0 ? absSum / naiveSum : null,
          };
        }),
      };
    },
  );

  app.get(
    '/api/v1/predictions/top-performers',
    {
      schema: {
        tags,
        summary: 'Symbols with enough matured forecasts, best MAE ratio to naive first',
        querystring: TopPerformersQuery,
        response: { 200: TopPerformersBody, ...readErrors },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await matured(accuracyFilter(q));
      return accuracyBy(rows, 'symbol')
        .filter((g) => g.predictions_with_actual >= q.min_matured && g.mae_ratio !== null)
        .sort((a, b) => (a.mae_ratio as number) - (b.mae_ratio as number))
        .slice(0, q.limit)
        .map(({ group, ...figures }) => ({ symbol: group, ...figures }));
    },
  );

  app.post(
    '/api/v1/predictions/daily-run',
    {
      onRequest: guard,
      schema: {
        tags,
        summary: 'Run the daily forecasts now (a past date uses only the bars known then; its matured forecasts are scored at once)',
        security: [{ bearer: [] }, { apiKey: [] }],
        body: DailyRunRequest,
        response: { 200: DailyRunBody, ...writeErrors },
      },
    },
    async (request) => {
      const body = request.body ?? { force_execute: false };
      const latest = lastClosedSession(new Date());
      const date = body.date ?? latest;
      if (date > latest) throw new ValidationError(`date ${date} has not closed yet (the last closed session is ${latest})`, { date });
      const symbols = body.symbols ?? tracking.defaultSymbols();
      const run = await scheduler.runObserved({ date, symbols, type: 'manual', force: body.force_execute });
      return dailyRunBody(run);
    },
  );

  app.post(
    '/api/v1/predictions/update-actual',
    {
      onRequest: guard,
      schema: {
        tags,
        summary: "Score a day's forecasts with a close the client pushes",
        security: [{ bearer: [] }, { apiKey: [] }],
        body: UpdateActualRequest,
        response: { 200: UpdateActualBody, ...writeErrors },
      },
    },
    async (request) => {
      const { symbol, date, actual_close } = request.body;
      const scored = await tracking.store().setActual(symbol, date, actual_close);
      if (scored === 0) throw new NotFoundError(`no tracked forecast for ${symbol} on ${date}`, { symbol, date }, 'TRACKED_FORECAST_NOT_FOUND');
      return { status: 'success' as const, symbol, date, scored };
    },
  );
};
