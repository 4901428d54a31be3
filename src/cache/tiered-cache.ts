import { createSingleFlight, type SingleFlight } from './single-flight.js';
import type { CacheTier, TierCounters, TierStatus } from './tier.js';

export interface TieredCacheOptions<T> {
  /** Fastest first, e.g. [memory, redis, file]. */
  readonly tiers: readonly CacheTier<T>[];
  /** Told about every tier lookup, e.g. to count hits and misses per tier in Prometheus. */
  readonly onLookup?: (event: { readonly tier: string; readonly hit: boolean }) => void;
  /** Clock used for the remaining TTL on back-fill; pass the tiers' clock when injecting one. */
  readonly now?: () => number;
}

export interface CacheHit<T> {
  readonly value: T;
  /** Name of the tier that answered. */
  readonly tier: string;
}

export interface ComputedOrCached<T> {
  readonly value: T;
  /** Tier that answered, or undefined when the value was computed by this call. */
  readonly tier: string | undefined;
}

export interface TierReport extends TierStatus, TierCounters {
  readonly name: string;
  readonly size: number;
}

export interface CacheStatus {
  /** Any tier down (e.g. Redis lost): still answering, from the remaining tiers. */
  readonly degraded: boolean;
  readonly tiers: Readonly<Record<string, TierStatus>>;
}

/**
 * Reads through the tiers in order and back-fills the faster ones on a hit (with the entry's
 * remaining TTL); writes go to every tier (the slower ones in the background). Tiers swallow their own failures, so a lost Redis
 * only shows up as misses and in `status()`.
 */
export class TieredCache<T> {
  /** Collapses concurrent runs of the same key; also usable on its own. */
  readonly singleFlight: SingleFlight = createSingleFlight();
  private readonly tiers: readonly CacheTier<T>[];
  private readonly onLookup: TieredCacheOptions<T>['onLookup'];
  private readonly now: () => number;
  private readonly pending = new Set<Promise<void>>();

  constructor(options: TieredCacheOptions<T>) {
    const names = options.tiers.map((tier) => tier.name);
    if (new Set(names).size !== names.length) throw new RangeError(`cache tier names must be unique, got ${names.join(', ')}`);
    this.tiers = options.tiers;
    this.onLookup = options.onLookup;
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<CacheHit<T> | undefined> {
    for (const [position, tier] of this.tiers.entries()) {
      const entry = await tier.get(key);
      this.onLookup?.({ tier: tier.name, hit: entry !== undefined });
      if (entry === undefined) continue;
      const remainingMs = entry.expiresAt - this.now();
      if (remainingMs > 0) {
        await Promise.all(this.tiers.slice(0, position).map((faster) => faster.set(key, entry.value, remainingMs)));
      }
      return { value: entry.value, tier: tier.name };
    }
    return undefined;
  }

  /**
   * Stores in the fastest tier and resolves; the slower tiers (Redis, files) are written in the background, so an
   * uncached answer does not wait for a network round trip or five file-system calls (about 0.4 ms of a 1.2 ms
   * prediction). `flush`, `clear` and `close` wait for those writes, so a clear is never undone by a late write.
   */
  async set(key: string, value: T, ttlMs?: number): Promise<void> {
    const [fastest, ...slower] = this.tiers;
    for (const tier of slower) {
      // Tiers report their own failures (onError); a rejection here must not become an unhandled one.
      const write: Promise<void> = tier
        .set(key, value, ttlMs)
        .catch(() => undefined)
        .then(() => {
          this.pending.delete(write);
        });
      this.pending.add(write);
    }
    await fastest?.set(key, value, ttlMs);
  }

  /** Waits for the background writes to the slower tiers started so far, including those a tier queued to write later. */
  async flush(): Promise<void> {
    await this.settle();
    await Promise.all(this.tiers.map((tier) => tier.flush?.()));
  }

  /** Waits for the `set` calls started in the background (a tier that writes behind resolves once queued). */
  private async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * The cached value, or `compute()`'s result stored in every tier. Concurrent calls for the
   * same key share one lookup and one computation. A failed computation is not cached.
   */
  getOrCompute(key: string, compute: () => Promise<T>, ttlMs?: number): Promise<ComputedOrCached<T>> {
    return this.singleFlight(key, async () => {
      const hit = await this.get(key);
      if (hit !== undefined) return hit;
      const value = await compute();
      await this.set(key, value, ttlMs);
      return { value, tier: undefined };
    });
  }

  async clear(): Promise<void> {
    // Not flush(): a tier drops its queued writes on clear, so writing them first would only be undone.
    await this.settle();
    await Promise.all(this.tiers.map((tier) => tier.clear()));
  }

  /** Per tier: up/down, hits, misses and current size (for `/api/v1/stats`). */
  async report(): Promise<TierReport[]> {
    return Promise.all(
      this.tiers.map(async (tier) => ({ name: tier.name, ...tier.status(), ...tier.counters(), size: await tier.size() })),
    );
  }

  status(): CacheStatus {
    const tiers: Record<string, TierStatus> = {};
    for (const tier of this.tiers) tiers[tier.name] = tier.status();
    return { degraded: Object.values(tiers).some((status) => !status.up), tiers };
  }

  async close(): Promise<void> {
    await this.settle();
    await Promise.all(this.tiers.map((tier) => tier.close()));
  }
}
