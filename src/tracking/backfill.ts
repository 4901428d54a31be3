import { tradingDaysBetween } from '../calendar/nyse.js';
import { errorMessage } from '../errors.js';
import { BandReplay } from './band-replay.js';
import { issueForecasts, scoreMatured, type TrackingDeps } from './daily-run.js';
import type { DailyRun, IssuedForecast } from './store.js';

export interface BackfillRequest {
  readonly from: string;
  readonly to: string;
  readonly symbols: readonly string[];
  /** Called after each symbol (CLI progress). */
  readonly onSymbol?: (symbol: string, result: { issued: number; recorded: number; scored: number; error?: string }) => void;
}

/** Issue dates written per transaction: a crash loses at most this many days of one symbol, a re-run refills them. */
const DAYS_PER_WRITE = 20;

/**
 * Replays the daily run over past sessions with the current models: each day's forecast sees only the bars up to
 * that day, and its bands the adaptive state replayed from the outcomes matured by then (BandReplay); every row is
 * marked backfilled (and in-sample where the model was fitted on its target day), then all matured forecasts are
 * scored against the closes that followed. Idempotent like the daily run.
 */
export async function backfill(deps: TrackingDeps, request: BackfillRequest): Promise<DailyRun> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const symbols = [...new Set(request.symbols)];
  const id = await deps.store.startRun({ execution_date: request.to, execution_type: 'backfill', total_symbols: symbols.length }, started);
  const days = tradingDaysBetween(request.from, request.to);
  const succeeded: string[] = [];
  const failed: { symbol: string; error: string }[] = [];
  let recorded = 0;
  let scored = 0;
  for (const symbol of symbols) {
    let issued = 0;
    let symbolRecorded = 0;
    let symbolScored = 0;
    let lease;
    try {
      const bars = await deps.market.getBars(symbol, { fresh: true }); // the newest closes score the forecasts
      const barDates = new Set(bars.map((b) => b.date));
      lease = deps.acquire(symbol);
      if (!lease) throw new Error('no model is loaded for this symbol');
      const bands = days[0] === undefined ? undefined : await BandReplay.start(lease.forecaster, symbol, bars, days[0]);
      let pending: IssuedForecast[] = [];
      for (const [index, day] of days.entries()) {
        if (barDates.has(day)) {
          const rows = await issueForecasts(deps, lease, symbol, bars, day, { replay: true, adaptive: bands?.at(day) });
          bands?.issued(rows);
          issued += rows.length;
          pending.push(...rows);
        }
        if ((index + 1) % DAYS_PER_WRITE === 0 || index === days.length - 1) {
          symbolRecorded += await deps.store.recordForecasts(pending, now());
          pending = [];
        }
      }
      symbolScored = await scoreMatured(deps, symbol, bars);
      succeeded.push(symbol);
      request.onSymbol?.(symbol, { issued, recorded: symbolRecorded, scored: symbolScored });
    } catch (error) {
      failed.push({ symbol, error: errorMessage(error) });
      request.onSymbol?.(symbol, { issued, recorded: symbolRecorded, scored: symbolScored, error: errorMessage(error) });
    } finally {
      lease?.release();
    }
    recorded += symbolRecorded;
    scored += symbolScored;
  }
  return deps.store.finishRun(
    id,
    {
      status: failed.length === symbols.length && symbols.length > 0 ? 'failed' : 'completed',
      symbols_succeeded: succeeded,
      symbols_failed: failed,
      successful_predictions: succeeded.length,
      failed_predictions: failed.length,
      recorded_forecasts: recorded,
      scored_forecasts: scored,
      execution_duration_ms: now().getTime() - started.getTime(),
      error_message: failed.length === 0 ? null : failed.map((f) => `${f.symbol}: ${f.error}`).join('; '),
    },
    now(),
  );
}
