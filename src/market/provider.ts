import type { Bar } from './bar.js';
import type { FetchPriority } from './rate-limit.js';

export interface BarQuery {
  /** Only bars on or after this ISO date. */
  readonly from?: string;
  /** Only bars on or before this ISO date. */
  readonly to?: string;
  /**
   * Remote sources only: wait (within the fetch budget) for bars older than the refresh interval to be
   * refreshed, instead of answering with the stored ones and refreshing in the background. Training and
   * evaluation ask for it so that a model sees the newest bars; requests do not.
   */
  readonly fresh?: boolean;
  /** Remote sources only: the caller's place in the upstream rate limiter (default `lookup`). */
  readonly priority?: FetchPriority;
}

/**
 * A source of daily bars. Implementations return validated bars, oldest first,
 * and throw NotFoundError for a symbol they have no data for.
 */
export interface MarketDataProvider {
  readonly name: string;
  getBars(symbol: string, query?: BarQuery): Promise<Bar[]>;
  /** Symbols this provider can list without a network call (stored history; empty for a bare remote client). */
  listSymbols(): Promise<string[]>;
}
