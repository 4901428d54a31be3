import { createSingleFlight } from '../cache/single-flight.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { SYMBOL_PATTERN, type Bar } from './bar.js';
import type { HistoricalStore } from './historical-store.js';
import type { BarQuery, MarketDataProvider } from './provider.js';
import type { FetchPriority } from './rate-limit.js';
import { barsInRange, checkQuery } from './validation.js';

/** What a refresh did, for the service's log. */
export type RefreshEvent =
  | { readonly symbol: string; readonly ok: true; readonly added: number; readonly updated: number; readonly rescaled?: { price: number; volume: number } }
  | { readonly symbol: string; readonly ok: false; readonly error: unknown; readonly priority: FetchPriority };

export interface StoredHistoryOptions {
  readonly store: HistoricalStore;
  /** The network source (Yahoo). Its own raw-response cache and fetch budget apply to every refresh. */
  readonly remote: MarketDataProvider;
  /** How long stored bars count as current after a refresh (`STOCK_DATA_TTL`). */
  readonly refreshAfterMs: number;
  /** How long after a failed refresh the next one is tried (default 30 s), so an outage is not hammered. */
  readonly retryAfterMs?: number;
  /** How long a symbol the source does not know is answered 404 without asking again (`MARKET_UNKNOWN_SYMBOL_TTL`). */
  readonly unknownSymbolTtlMs: number;
  /** Bound on remembered unknown symbols (default 10,000; the oldest is forgotten first). */
  readonly unknownSymbolsMax?: number;
  readonly onRefresh?: (event: RefreshEvent) => void;
}

/**
 * The market data of `DATA_SOURCE=yahoo`: the stored history is what is served, and the remote source only
 * feeds it. A symbol with stored bars is answered from them at once (stale-while-revalidate): when they are
 * older than the refresh interval, one background refresh fetches, validates and merges the source's bars
 * into the store, and later requests see them. A symbol with nothing stored waits for its first fetch
 * (bounded by the remote's fetch budget and lookup queue); a symbol the source does not know is remembered
 * as unknown for a while, so repeated bad tickers never reach the source. Training asks for `fresh` bars
 * and waits for the refresh instead.
 */
export class StoredHistoryProvider implements MarketDataProvider {
  readonly name: string;
  private readonly singleFlight = createSingleFlight();
  /** When each symbol's stored bars are due for a refresh (absent: at its first use). */
  private readonly refreshDue = new Map<string, number>();
  /** Until when a symbol is known to be unknown to the source. */
  private readonly unknown = new Map<string, number>();

  constructor(private readonly options: StoredHistoryOptions) {
    this.name = options.remote.name;
  }

  async getBars(symbol: string, query: BarQuery = {}): Promise<Bar[]> {
    if (!SYMBOL_PATTERN.test(symbol)) throw new ValidationError(`invalid symbol "${symbol}"`, { symbol }, 'INVALID_SYMBOL');
    checkQuery(query);
    const unknownUntil = this.unknown.get(symbol);
    if (unknownUntil !== undefined) {
      if (Date.now() < unknownUntil) throw new NotFoundError(`no market data for symbol ${symbol}`, { symbol });
      this.unknown.delete(symbol);
    }
    const stored = await this.options.store.read(symbol);
    if (stored === undefined) return barsInRange(await this.refresh(symbol, 'lookup'), query.from, query.to);
    if (Date.now() >= (this.refreshDue.get(symbol) ?? 0)) {
      const refreshing = this.refresh(symbol, 'refresh');
      if (query.fresh === true) {
        // A failed refresh is reported by refresh(); the stored bars are still the best answer.
        const refreshed = await refreshing.catch(() => undefined);
        if (refreshed !== undefined) return barsInRange(refreshed, query.from, query.to);
      } else {
        refreshing.catch(() => undefined);
      }
    }
    return barsInRange(stored, query.from, query.to);
  }

  listSymbols(): Promise<string[]> {
    return this.options.store.listSymbols();
  }

  /** Fetches the symbol's whole history from the remote and merges it into the store; one at a time per symbol. */
  private refresh(symbol: string, priority: FetchPriority): Promise<Bar[]> {
    return this.singleFlight(`refresh:${symbol}`, async () => {
      const { store, remote, onRefresh } = this.options;
      try {
        const fetched = await remote.getBars(symbol, { priority });
        if (fetched.length === 0 && priority === 'lookup') throw new NotFoundError(`no market data for symbol ${symbol}`, { symbol });
        const merged = await store.merge(symbol, fetched);
        this.refreshDue.set(symbol, Date.now() + this.options.refreshAfterMs);
        onRefresh?.({ symbol, ok: true, added: merged.added, updated: merged.updated, ...(merged.rescaled ? { rescaled: merged.rescaled } : {}) });
        return merged.bars;
      } catch (error) {
        if (error instanceof NotFoundError && priority === 'lookup') this.rememberUnknown(symbol);
        this.refreshDue.set(symbol, Date.now() + (this.options.retryAfterMs ?? 30_000));
        onRefresh?.({ symbol, ok: false, error, priority });
        throw error;
      }
    });
  }

  private rememberUnknown(symbol: string): void {
    this.unknown.delete(symbol);
    if (this.unknown.size >= (this.options.unknownSymbolsMax ?? 10_000)) {
      const oldest = this.unknown.keys().next();
      if (oldest.done !== true) this.unknown.delete(oldest.value);
    }
    this.unknown.set(symbol, Date.now() + this.options.unknownSymbolTtlMs);
  }
}
