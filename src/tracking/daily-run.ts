import { closureReason, nextTradingDays } from '../calendar/nyse.js';
import { errorMessage } from '../errors.js';
import type { Bar } from '../market/bar.js';
import type { MarketDataProvider } from '../market/provider.js';
import type { AdaptiveIntervalState, Forecaster } from '../ml/types.js';
import { scoreForecast, type Outcome } from './scoring.js';
import type { DailyRun, IssuedForecast, StoredForecast, TrackingStore } from './store.js';

/** A forecaster checked out for one symbol (the server's ModelRegistry lease, or one loaded by the CLI). */
export interface ForecasterLease {
  readonly key: string;
  readonly forecaster: Forecaster;
  release(): void;
}

/** Called with the forecasts just scored: the hook for online updates from matured outcomes (e.g. adaptive conformal). */
export type OutcomeListener = (symbol: string, scored: readonly (StoredForecast & { outcome: Outcome })[]) => void;

export interface TrackingDeps {
  readonly store: TrackingStore;
  readonly market: Pick<MarketDataProvider, 'getBars'>;
  /** The model answering for a symbol (its own, else the global one); undefined when none is loaded. */
  readonly acquire: (symbol: string) => ForecasterLease | undefined;
  /** BUY/SELL/HOLD for a predicted price against the last close (the service's thresholds). */
  readonly signal: (current: number, predicted: number) => string;
  /** Steps recorded per forecast (capped at each model's horizon). */
  readonly horizon: number;
  readonly onOutcomes?: OutcomeListener | undefined;
  readonly now?: (() => Date) | undefined;
}

export type ExecutionType = 'scheduled' | 'manual' | 'backfill';

export interface RunRequest {
  /** The trading day whose close the forecasts are issued after; bars after it are never used. */
  readonly date: string;
  readonly symbols: readonly string[];
  readonly type: ExecutionType;
  /** Run even when `date` was not a trading day (forecasts then issue from the last session before it). */
  readonly force?: boolean | undefined;
}

/** Index one past the last bar on or before `date` (bars are sorted by date). */
export function barsKnownAt(bars: readonly Bar[], date: string): readonly Bar[] {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bars[mid] as Bar).date <= date) lo = mid + 1;
    else hi = mid;
  }
  return bars.slice(0, lo);
}

/**
 * The forecast steps issued from the bars known at `date` (none after it: no look-ahead). A row is in-sample when
 * its target day lies before the model's test split, i.e. inside the data it was fitted and calibrated on; it is
 * backfilled when later bars already existed when it was made (a replay, not a forecast of the unknown).
 */
export async function issueForecasts(
  deps: Pick<TrackingDeps, 'horizon' | 'signal'>,
  lease: ForecasterLease,
  symbol: string,
  bars: readonly Bar[],
  date: string,
  options: { readonly replay?: boolean; readonly adaptive?: AdaptiveIntervalState | undefined } = {},
): Promise<IssuedForecast[]> {
  const known = barsKnownAt(bars, date);
  const meta = lease.forecaster.metadata;
  const steps = Math.min(deps.horizon, meta.horizon);
  const forecast = await lease.forecaster.forecast(known, steps, options.adaptive === undefined ? undefined : { adaptive: options.adaptive });
  const targets = nextTradingDays(forecast.as_of, steps);
  const backfilled = options.replay === true || known.length < bars.length;
  const testFrom = meta.evaluation.test_from;
  return forecast.points.map((point, index) => ({
    symbol,
    issue_date: forecast.as_of,
    horizon: index + 1,
    model_key: lease.key,
    model_version: meta.version,
    target_date: targets[index] ?? point.date,
    forecast: point.price,
    lower_80: point.lower_80,
    upper_80: point.upper_80,
    lower_95: point.lower_95,
    upper_95: point.upper_95,
    confidence: index === 0 ? forecast.confidence : null,
    probability_up: index === 0 ? forecast.probability_up : null,
    signal: deps.signal(forecast.current_price, point.price),
    naive_forecast: forecast.current_price,
    backfilled,
    in_sample: (targets[index] ?? point.date) < testFrom,
  }));
}

/** Scores every unscored forecast of `symbol` whose target day has a bar; returns how many were scored. */
export async function scoreMatured(deps: Pick<TrackingDeps, 'store' | 'onOutcomes' | 'now'>, symbol: string, bars: readonly Bar[]): Promise<number> {
  const last = bars[bars.length - 1];
  if (!last) return 0;
  const pending = await deps.store.unscored(symbol, last.date);
  if (pending.length === 0) return 0;
  const closes = new Map(bars.map((b) => [b.date, b.adjClose]));
  const scored: (StoredForecast & { outcome: Outcome })[] = [];
  for (const row of pending) {
    const actual = closes.get(row.target_date);
    // No bar on a day the calendar called a session (an unscheduled closure): the row stays unscored, never guessed.
    if (actual !== undefined) scored.push({ ...row, outcome: scoreForecast(row, actual) });
  }
  const saved = await deps.store.saveOutcomes(scored, deps.now?.() ?? new Date());
  if (scored.length > 0) deps.onOutcomes?.(symbol, scored);
  return saved;
}

interface SymbolResult {
  readonly symbol: string;
  readonly recorded: number;
  readonly scored: number;
  readonly error?: string;
}

async function runSymbol(deps: TrackingDeps, symbol: string, date: string, force: boolean): Promise<SymbolResult> {
  let bars: Bar[];
  try {
    bars = await deps.market.getBars(symbol, { fresh: true }); // the newest closes score the forecasts
  } catch (error) {
    return { symbol, recorded: 0, scored: 0, error: `market data: ${errorMessage(error)}` };
  }
  const issued = await issueDay(deps, symbol, bars, date, force);
  // Then outcomes: a past-date run scores at once what has matured since, its own forecasts included.
  const scored = await scoreMatured(deps, symbol, bars);
  return { symbol, scored, ...issued };
}

async function issueDay(deps: TrackingDeps, symbol: string, bars: readonly Bar[], date: string, force: boolean): Promise<{ recorded: number; error?: string }> {
  const known = barsKnownAt(bars, date);
  const lastKnown = known[known.length - 1];
  if (!lastKnown) return { recorded: 0, error: `no bars on or before ${date}` };
  if (lastKnown.date !== date && !force) return { recorded: 0, error: `no bar for ${date} yet (latest ${lastKnown.date})` };
  const lease = deps.acquire(symbol);
  if (!lease) return { recorded: 0, error: 'no model is loaded for this symbol' };
  try {
    const rows = await issueForecasts(deps, lease, symbol, bars, date);
    return { recorded: await deps.store.recordForecasts(rows, deps.now?.() ?? new Date()) };
  } catch (error) {
    return { recorded: 0, error: errorMessage(error) };
  } finally {
    lease.release();
  }
}

/**
 * One daily run: for each symbol, score what has matured, then forecast from the bars known at `date` and record
 * every step. Idempotent (existing keys are kept); each symbol's rows are one transaction, so a crash loses at most
 * the symbol in progress and a re-run fills exactly what is missing. Logged in daily_runs.
 */
export async function runDaily(deps: TrackingDeps, request: RunRequest): Promise<DailyRun> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const symbols = [...new Set(request.symbols)];
  const id = await deps.store.startRun({ execution_date: request.date, execution_type: request.type, total_symbols: symbols.length }, started);
  const closed = closureReason(request.date);
  if (closed !== undefined && !request.force) {
    return deps.store.finishRun(
      id,
      {
        status: 'skipped',
        symbols_succeeded: [],
        symbols_failed: [],
        successful_predictions: 0,
        failed_predictions: 0,
        recorded_forecasts: 0,
        scored_forecasts: 0,
        execution_duration_ms: now().getTime() - started.getTime(),
        error_message: `market was closed on ${request.date} (${closed}); set force_execute to run anyway`,
      },
      now(),
    );
  }
  const results: SymbolResult[] = [];
  for (const symbol of symbols) results.push(await runSymbol(deps, symbol, request.date, request.force ?? false));
  const failed = results.filter((r) => r.error !== undefined);
  return deps.store.finishRun(
    id,
    {
      status: failed.length === symbols.length && symbols.length > 0 ? 'failed' : 'completed',
      symbols_succeeded: results.filter((r) => r.error === undefined).map((r) => r.symbol),
      symbols_failed: failed.map((r) => ({ symbol: r.symbol, error: r.error as string })),
      successful_predictions: symbols.length - failed.length,
      failed_predictions: failed.length,
      recorded_forecasts: results.reduce((n, r) => n + r.recorded, 0),
      scored_forecasts: results.reduce((n, r) => n + r.scored, 0),
      execution_duration_ms: now().getTime() - started.getTime(),
      error_message: failed.length === 0 ? null : failed.map((r) => `${r.symbol}: ${r.error}`).join('; '),
    },
    now(),
  );
}
