import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { MemoryCacheTier } from '../../src/cache/memory-tier.js';
import { TieredCache } from '../../src/cache/tiered-cache.js';
import type { Bar } from '../../src/market/bar.js';
import type { MarketDataProvider } from '../../src/market/provider.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { ModelRegistry } from '../../src/server/model-registry.js';
import type { Prediction } from '../../src/server/prediction-body.js';
import { PredictionService } from '../../src/server/prediction-service.js';

/**
 * The bars memo at its bound: the service's real memo, fed by a stub source that counts reads
 * (a unit test of an edge case: 1,001 symbols). The clock is fixed, so every read falls in the
 * memo's reuse window and a second read of a symbol reaches the source only if it was evicted.
 */
function service(): { predictions: PredictionService; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const bar: Bar = Object.freeze({ date: '2025-10-08', open: 10, high: 11, low: 9, close: 10.5, adjClose: 10.5, volume: 1000 });
  const market: MarketDataProvider = {
    name: 'counting',
    getBars: async (symbol) => {
      reads.set(symbol, (reads.get(symbol) ?? 0) + 1);
      return [bar];
    },
    listSymbols: async () => [],
  };
  const metrics = createMetrics();
  const registry = new ModelRegistry({
    // No models: the bars memo never reaches the registry.
    loader: { keys: async () => [], currentVersion: async () => null, load: async (key) => Promise.reject(new Error(`no model ${key}`)) },
    warmUp: async () => {},
    metrics,
    logger: pino({ level: 'silent' }),
  });
  const cache = new TieredCache<Prediction>({ tiers: [new MemoryCacheTier({ maxEntries: 10, ttlSeconds: 60 })] });
  const fixed = new Date('2025-10-09T15:00:00Z');
  const predictions = new PredictionService({
    registry,
    market,
    cache,
    metrics,
    thresholds: { buy: 0.02, sell: -0.02 },
    ttlSeconds: 60,
    backend: () => 'cpu',
    now: () => fixed,
  });
  return { predictions, reads };
}

describe('PredictionService memos', () => {
  it('the bars memo drops only its least recently used symbol when full, never empties itself', async () => {
    const { predictions, reads } = service();
    const max = predictions.memoSizes().bars.max;
    assert.equal(max, 1000);
    const symbols = Array.from({ length: max + 1 }, (_, i) => `S${i}`);
    for (const symbol of symbols.slice(0, max)) await predictions.bars(symbol);
    await predictions.bars('S0'); // a memo hit: S0 becomes the most recent
    assert.equal(reads.get('S0'), 1);
    await predictions.bars(symbols[max] as string); // one symbol too many
    assert.deepEqual(predictions.memoSizes().bars, { size: max, max });
    await predictions.bars('S0');
    await predictions.bars('S999');
    assert.equal(reads.get('S0'), 1, 'the recently used symbol is still memoized');
    assert.equal(reads.get('S999'), 1, 'so is every other symbol but the oldest');
    await predictions.bars('S1');
    assert.equal(reads.get('S1'), 2, 'the least recently used symbol was evicted and is read again');
  });

  it('reports the outage-fallback memo empty with its bound before any prediction', () => {
    assert.deepEqual(service().predictions.memoSizes().outage_fallback_keys, { size: 0, max: 10_000 });
  });
});
