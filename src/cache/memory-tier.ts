import { LRUCache } from 'lru-cache';
import { HitCounter, ttlToMs, type CacheEntry, type CacheTier, type TierCounters, type TierStatus } from './tier.js';

export interface MemoryCacheTierOptions {
  /** Upper bound on entries; the least recently used entry is evicted beyond it. */
  readonly maxEntries: number;
  readonly ttlSeconds: number;
  /** Clock, injectable so TTL tests need not sleep. */
  readonly now?: () => number;
}

/**
 * In-process LRU with TTL. Values are kept by reference (no copy), so callers must treat
 * cached values as immutable.
 */
export class MemoryCacheTier<T> implements CacheTier<T> {
  readonly name = 'memory';
  private readonly entries: LRUCache<string, CacheEntry<T>>;
  private readonly counter = new HitCounter();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: MemoryCacheTierOptions) {
    this.entries = new LRUCache({ max: options.maxEntries });
    this.ttlMs = ttlToMs(options.ttlSeconds);
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<CacheEntry<T> | undefined> {
    const entry = this.entries.get(key);
    if (entry === undefined) return this.counter.record(undefined);
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return this.counter.record(undefined);
    }
    return this.counter.record(entry);
  }

  async set(key: string, value: T, ttlMs?: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: this.now() + (ttlMs ?? this.ttlMs) });
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async clear(): Promise<void> {
    this.entries.clear();
  }

  async size(): Promise<number> {
    return this.entries.size;
  }

  counters(): TierCounters {
    return this.counter.snapshot();
  }

  status(): TierStatus {
    return { up: true };
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
