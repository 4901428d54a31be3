import { CsvMarketData } from './csv.js';
import { HistoricalStore } from './historical-store.js';
import type { FetchObserver } from './observer.js';
import type { MarketDataProvider } from './provider.js';
import { StoredHistoryProvider, type RefreshEvent } from './stored-history.js';
import { YahooChartProvider, type YahooChartProviderOptions } from './yahoo.js';

export type DataSource = 'csv' | 'yahoo';

export interface MarketDataConfig {
  /** `DATA_SOURCE`: `csv` (the offline default when omitted) or `yahoo`. */
  readonly source?: DataSource;
  /** `persistent_data/stock_data/historical/`: the stored history both sources serve (Yahoo's fetches are merged into it). */
  readonly historicalDir: string;
  /** `STOCK_DATA_CACHE_PATH`, `persistent_data/stock_data/cache/` (Yahoo raw responses). */
  readonly stockDataCacheDir: string;
  /** `STOCK_DATA_TTL` in seconds: raw responses are reused, and stored bars count as current, this long. */
  readonly stockDataTtlSeconds: number;
  /** `MARKET_UNKNOWN_SYMBOL_TTL` in seconds: a symbol Yahoo does not know is answered 404 without asking again (default 600). */
  readonly unknownSymbolTtlSeconds?: number;
  /** Overrides of the Yahoo defaults below. */
  readonly yahoo?: Partial<
    Pick<YahooChartProviderOptions, 'baseUrl' | 'timeoutMs' | 'maxRetries' | 'budgetMs' | 'maxQueuedLookups' | 'requestsPerSecond' | 'userAgent' | 'fetch'>
  >;
  readonly onFetch?: FetchObserver;
  /** What refreshes of the stored history did (Yahoo), for the log. */
  readonly onRefresh?: (event: RefreshEvent) => void;
}

export const YAHOO_DEFAULTS = {
  baseUrl: 'https://query2.finance.yahoo.com',
  timeoutMs: 10_000,
  maxRetries: 3,
  budgetMs: 5_000,
  maxQueuedLookups: 10,
  requestsPerSecond: 2,
  userAgent: 'stock-prediction-service/4.0 (Node.js)',
} as const;

export function createMarketDataProvider(config: MarketDataConfig): MarketDataProvider {
  switch (config.source ?? 'csv') {
    case 'csv':
      return new CsvMarketData({ directory: config.historicalDir, onFetch: config.onFetch });
    case 'yahoo':
      return new StoredHistoryProvider({
        store: new HistoricalStore(config.historicalDir),
        remote: new YahooChartProvider({
          ...YAHOO_DEFAULTS,
          ...config.yahoo,
          cacheDir: config.stockDataCacheDir,
          ttlSeconds: config.stockDataTtlSeconds,
          onFetch: config.onFetch,
        }),
        refreshAfterMs: config.stockDataTtlSeconds * 1000,
        // After a failed refresh, try again after the same interval, at most 30 s: the source's return is seen soon.
        retryAfterMs: Math.min(30_000, config.stockDataTtlSeconds * 1000),
        unknownSymbolTtlMs: (config.unknownSymbolTtlSeconds ?? 600) * 1000,
        ...(config.onRefresh ? { onRefresh: config.onRefresh } : {}),
      });
  }
}
