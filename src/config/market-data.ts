import type { MarketDataConfig } from '../market/factory.js';
import type { AppConfig } from './env.js';

/** The market-data provider's settings from the validated configuration: the service and the CLIs build the same one. */
export function marketDataConfig(config: AppConfig): MarketDataConfig {
  return {
    source: config.dataSource,
    historicalDir: config.layout.historical,
    stockDataCacheDir: config.layout.stockDataCache,
    stockDataTtlSeconds: config.stockDataTtlSeconds,
    unknownSymbolTtlSeconds: config.unknownSymbolTtlSeconds,
    yahoo: {
      ...(config.yahooBaseUrl ? { baseUrl: config.yahooBaseUrl } : {}),
      budgetMs: config.fetchBudgetSeconds * 1000,
      maxQueuedLookups: config.lookupQueueMax,
    },
  };
}
