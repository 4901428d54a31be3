/**
 * One level of the cache (memory, Redis, files). Tiers never throw to the caller: a tier whose
 * backing store fails answers a miss, drops the write, and reports `up: false` in `status()`,
 * so a broken Redis or a full disk slows answers down instead of failing them.
 */
export interface CacheTier<T> {
  /** Short fixed name used in responses and metric labels: `memory`, `redis`, `file`. */
  readonly name: string;
  get(key: string): Promise<CacheEntry<T> | undefined>;
  /** Stores for `ttlMs`, or for the tier's configured TTL when omitted. */
  set(key: string, value: T, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
  /** Entries currently held (for Redis: keys under this tier's prefix). */
  size(): Promise<number>;
  /** Lookups answered (hits) and not answered (misses) since start. */
  counters(): TierCounters;
  status(): TierStatus;
  /** Tiers that write behind (files) write what is queued and resolve once it is stored. */
  flush?(): Promise<void>;
  /** Waits for queued writes, then releases connections and timers; the tier answers misses afterwards. */
  close(): Promise<void>;
}

export interface CacheEntry<T> {
  readonly value: T;
  /** Epoch milliseconds after which the entry is not served. */
  readonly expiresAt: number;
}

export interface TierCounters {
  readonly hits: number;
  readonly misses: number;
}

export interface TierStatus {
  readonly up: boolean;
  /** Why the tier is down (last error message); absent when up. */
  readonly detail?: string;
}

/** What persistent tiers (Redis, files) store: the value with its expiry, so a back-fill keeps the remaining TTL. */
export interface StoredEntry<T> {
  readonly key: string;
  readonly expiresAt: number;
  readonly value: T;
}

/** Hit/miss bookkeeping shared by the tier implementations. */
export class HitCounter {
  hits = 0;
  misses = 0;

  record<E>(entry: E | undefined): E | undefined {
    if (entry === undefined) this.misses += 1;
    else this.hits += 1;
    return entry;
  }

  snapshot(): TierCounters {
    return { hits: this.hits, misses: this.misses };
  }
}

export function ttlToMs(ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`cache TTL must be a positive number of seconds, got ${ttlSeconds}`);
  return ttlSeconds * 1000;
}


/** Reads a persisted `StoredEntry`; undefined for anything that is not one (corrupt or foreign data). */
export function parseStoredEntry<T>(text: string): StoredEntry<T> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || !('value' in parsed)) return undefined;
    const { key, expiresAt } = parsed as Partial<StoredEntry<T>>;
    if (typeof key !== 'string' || typeof expiresAt !== 'number') return undefined;
    return parsed as StoredEntry<T>;
  } catch {
    return undefined;
  }
}
