import { Redis } from 'ioredis';
import {
  HitCounter,
  parseStoredEntry,
  ttlToMs,
  type CacheEntry,
  type CacheTier,
  type StoredEntry,
  type TierCounters,
  type TierStatus,
} from './tier.js';
import { errorMessage } from '../errors.js';

export interface RedisCacheTierOptions {
  /** `redis://[:password@]host:port[/db]`. */
  readonly url: string;
  readonly ttlSeconds: number;
  /** Prefix of every key this tier writes; `clear()` and `size()` only touch these keys. */
  readonly keyPrefix?: string;
  /** A command slower than this counts as a miss (default 250 ms): a slow Redis must not slow answers. */
  readonly commandTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Cap of the exponential reconnect delay (default 2000 ms). */
  readonly maxReconnectDelayMs?: number;
  readonly now?: () => number;
  /** Told about connection and command errors, which are otherwise swallowed. */
  readonly onError?: (error: Error) => void;
  /** Told when the connection goes up or down (e.g. for a `redis_up` gauge or a log line). */
  readonly onStatusChange?: (status: TierStatus) => void;
}

/**
 * Redis tier over ioredis. Commands are never queued while disconnected
 * (`enableOfflineQueue: false`) and time out quickly, so a dead or slow Redis turns into
 * immediate misses; ioredis reconnects by itself with capped exponential backoff.
 * The client's 'error' events are always handled here, so none ever crashes the process.
 */
export class RedisCacheTier<T> implements CacheTier<T> {
  readonly name = 'redis';
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly onError: ((error: Error) => void) | undefined;
  private readonly onStatusChange: ((status: TierStatus) => void) | undefined;
  private readonly counter = new HitCounter();
  private up = false;
  private lastError: string | undefined = 'connecting';

  constructor(options: RedisCacheTierOptions) {
    this.prefix = options.keyPrefix ?? 'stock-prediction:';
    this.ttlMs = ttlToMs(options.ttlSeconds);
    this.now = options.now ?? Date.now;
    this.onError = options.onError;
    this.onStatusChange = options.onStatusChange;
    const maxDelay = options.maxReconnectDelayMs ?? 2000;
    this.client = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs ?? 250,
      connectTimeout: options.connectTimeoutMs ?? 1000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
    });
    this.client.on('ready', () => this.setUp(true));
    this.client.on('close', () => this.setUp(false, 'connection closed'));
    this.client.on('error', (error: Error) => this.fail(error));
  }

  /** Resolves once connected, or after `timeoutMs` (whatever the outcome); never rejects. */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.up) return true;
    return new Promise((resolve) => {
      const done = (ready: boolean): void => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ready);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(this.up), timeoutMs);
      this.client.on('ready', onReady);
    });
  }

  /**
   * PING with a deadline; resolves with the round trip in ms. A frozen server (SIGSTOP, a stuck host) keeps its
   * TCP connection open, so the connection status says "up": only an answer in time proves it is alive.
   */
  async ping(timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to PING within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.client.ping(), deadline]);
    } finally {
      clearTimeout(timer);
    }
    return performance.now() - t0;
  }

  async get(key: string): Promise<CacheEntry<T> | undefined> {
    if (!this.up) return this.counter.record(undefined);
    try {
      const text = await this.client.get(this.prefix + key);
      const stored = text === null ? undefined : parseStoredEntry<T>(text);
      if (stored === undefined || stored.key !== key || stored.expiresAt <= this.now()) return this.counter.record(undefined);
      return this.counter.record({ value: stored.value, expiresAt: stored.expiresAt });
    } catch (error) {
      this.fail(error);
      return this.counter.record(undefined);
    }
  }

  async set(key: string, value: T, ttlMs?: number): Promise<void> {
    if (!this.up) return;
    const ttl = Math.max(1, Math.round(ttlMs ?? this.ttlMs));
    const stored: StoredEntry<T> = { key, expiresAt: this.now() + ttl, value };
    try {
      await this.client.set(this.prefix + key, JSON.stringify(stored), 'PX', ttl);
    } catch (error) {
      this.fail(error);
    }
  }

  async delete(key: string): Promise<void> {
    if (!this.up) return;
    try {
      await this.client.del(this.prefix + key);
    } catch (error) {
      this.fail(error);
    }
  }

  async clear(): Promise<void> {
    await this.scanKeys(async (keys) => {
      await this.client.unlink(...keys);
    });
  }

  async size(): Promise<number> {
    let count = 0;
    await this.scanKeys(async (keys) => {
      count += keys.length;
    });
    return count;
  }

  counters(): TierCounters {
    return this.counter.snapshot();
  }

  status(): TierStatus {
    return this.up ? { up: true } : { up: false, detail: this.lastError ?? 'disconnected' };
  }

  async close(): Promise<void> {
    this.client.removeAllListeners('ready');
    this.client.removeAllListeners('close');
    this.up = false;
    this.lastError = 'closed';
    try {
      await this.client.quit();
    } catch {
      // quit() fails when not connected; disconnect() then stops any reconnect attempt.
      this.client.disconnect();
    }
  }

  /** SCAN over this tier's keys in batches (never KEYS, which blocks Redis). Errors count as a down tier. */
  private async scanKeys(onBatch: (keys: string[]) => Promise<void>): Promise<void> {
    if (!this.up) return;
    try {
      let cursor = '0';
      do {
        const [next, keys] = await this.client.scan(cursor, 'MATCH', `${escapeGlob(this.prefix)}*`, 'COUNT', 500);
        if (keys.length > 0) await onBatch(keys);
        cursor = next;
      } while (cursor !== '0');
    } catch (error) {
      this.fail(error);
    }
  }

  private setUp(up: boolean, detail?: string): void {
    if (up) this.lastError = undefined;
    else if (this.lastError === undefined && detail !== undefined) this.lastError = detail;
    if (this.up === up) return;
    this.up = up;
    this.onStatusChange?.(this.status());
  }

  private fail(error: unknown): void {
    this.lastError = errorMessage(error);
    this.onError?.(error instanceof Error ? error : new Error(this.lastError));
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
