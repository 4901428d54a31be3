import type { Bar } from './bar.js';

export interface BarQuery {
  /** Only bars on or after this ISO date. */
  readonly from?: string;
  /** Only bars on or before this ISO date. */
  readonly to?: string;
}

/**
 * A source of daily bars. Implementations return validated bars, oldest first,
 * and throw NotFoundError for a symbol they have no data for.
 */
export interface MarketDataProvider {
  readonly name: string;
  getBars(symbol: string, query?: BarQuery): Promise<Bar[]>;
  /** Symbols this provider can list without a network call (empty for remote providers). */
  listSymbols(): Promise<string[]>;
}
