import { CsvMarketData } from './csv.js';
import type { FetchObserver } from './observer.js';
import type { MarketDataProvider } from './provider.js';
import { YahooChartProvider, type YahooChartProviderOptions } from './yahoo.js';

export type DataSource = 'csv' | 'yahoo';

export interface MarketDataConfig {
  /** `DATA_SOURCE`: `csv` (the offline default when omitted) or `yahoo`. */
  readonly source?: DataSource;
  /** `persistent_data/stock_data/historical/` (the csv source). */
  readonly historicalDir: string;
  /** `STOCK_DATA_CACHE_PATH`, `persistent_data/stock_data/cache/` (Yahoo raw responses). */
  readonly stockDataCacheDir: string;
  /** `STOCK_DATA_TTL` in seconds. */
  readonly stockDataTtlSeconds: number;
  /** Overrides of the Yahoo defaults below. */
  readonly yahoo?: Partial<Pick<YahooChartProviderOptions, 'baseUrl' | 'timeoutMs' | 'maxRetries' | 'requestsPerSecond' | 'userAgent' | 'fetch'>>;
  readonly onFetch?: FetchObserver;
}

export const YAHOO_DEFAULTS = {
  baseUrl: 'https://query2.finance.yahoo.com',
  timeoutMs: 10_000,
  maxRetries: 3,
  requestsPerSecond: 2,
  userAgent: 'stock-prediction-service/4.0 (Node.js)',
} as const;

export function createMarketDataProvider(config: MarketDataConfig): MarketDataProvider {
  switch (config.source ?? 'csv') {
    case 'csv':
      return new CsvMarketData({ directory: config.historicalDir, onFetch: config.onFetch });
    case 'yahoo':
      return new YahooChartProvider({
        ...YAHOO_DEFAULTS,
        ...config.yahoo,
        cacheDir: config.stockDataCacheDir,
        ttlSeconds: config.stockDataTtlSeconds,
        onFetch: config.onFetch,
      });
  }
}
