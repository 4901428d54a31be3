import type { MarketDataProvider } from '../market/provider.js';
import { symbolModelKey, symbolOfModelKey } from '../ml/types.js';
import type { ModelStore } from '../model-store/store.js';
import { liveAccuracy } from '../tracking/accuracy.js';
import type { TrackingStore } from '../tracking/store.js';
import type { OpsConfig } from './ops-config.js';
import { countNewBars, decideRetraining, type RetrainDecision, type RetrainPolicy, type SymbolState } from './retraining.js';

/** The symbols the retraining policy looks at: the configured ones, else every symbol with data or a model of its own. */
export async function retrainingSymbols(configured: readonly string[], market: MarketDataProvider, store: ModelStore): Promise<string[]> {
  if (configured.length > 0) return [...configured];
  const withData = await market.listSymbols();
  const withModel = (await store.keys()).map(symbolOfModelKey).filter((s): s is string => s !== null);
  return [...new Set([...withData, ...withModel])].sort();
}

/** What decideRetraining needs per symbol: its current model, its newest bars and (with a tracking store) its live skill. */
export async function symbolStates(store: ModelStore, market: MarketDataProvider, symbols: readonly string[], tracking?: TrackingStore): Promise<SymbolState[]> {
  const keys = new Set(await store.keys());
  const states: SymbolState[] = [];
  for (const symbol of symbols) {
    let dates: string[] = [];
    try {
      // Fresh: with Yahoo, the bars that arrived since the last refresh count towards "new bars".
      dates = (await market.getBars(symbol, { fresh: true })).map((bar) => bar.date);
    } catch {
      dates = [];
    }
    const lastBar = dates.at(-1);
    try {
      const key = symbolModelKey(symbol);
      const version = keys.has(key) ? await store.currentVersion(key) : null;
      if (version === null) {
        states.push({ symbol, lastBar, newBars: 0 });
        continue;
      }
      const meta = await store.readMetadata(key, version);
      const live = tracking ? await liveAccuracy(tracking, symbol, version) : undefined;
      states.push({ symbol, lastBar, model: { version, trainedAt: meta.trained_at, dataTo: meta.data.to }, newBars: countNewBars(dates, meta.data.to), live });
    } catch (error) {
      states.push({ symbol, lastBar, newBars: 0, modelError: (error as Error).message });
    }
  }
  return states;
}

/** The policy of ml_config.json's `retraining` section, with the command line's overrides. */
export function retrainPolicy(config: OpsConfig['retraining'], overrides: Partial<Pick<RetrainPolicy, 'force' | 'maxAgeDays' | 'minNewBars'>> = {}): RetrainPolicy {
  return {
    force: overrides.force ?? false,
    maxAgeDays: overrides.maxAgeDays ?? config.max_age_days,
    minNewBars: overrides.minNewBars ?? config.min_new_bars,
    live: { maxMaeRatio: config.max_live_mae_ratio, minMatured: config.min_live_matured },
  };
}

/** Which of `symbols` to retrain now, and why (the ops CLI's `retrain` and the worker's scheduled retraining). */
export async function planRetraining(options: {
  readonly store: ModelStore;
  readonly market: MarketDataProvider;
  readonly symbols: readonly string[];
  readonly tracking?: TrackingStore | undefined;
  readonly policy: RetrainPolicy;
  readonly now?: Date;
}): Promise<RetrainDecision[]> {
  const states = await symbolStates(options.store, options.market, options.symbols, options.tracking);
  return states.map((state) => decideRetraining(state, options.policy, options.now ?? new Date()));
}
