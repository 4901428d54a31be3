import { Redis } from 'ioredis';
import { errorMessage } from '../errors.js';

/**
 * One fixed window per client in Redis, counted atomically (INCR, and PEXPIRE on the window's first request), so
 * every replica draws on the same budget. Returns [count in the window, ms until the window ends].
 */
const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;

/** Outside the prediction cache's `stock-prediction:` keys, which a cache clear deletes and cache_entries counts. */
const KEY_PREFIX = 'stock-prediction-ratelimit:';

/** After Redis failed to answer, count in this process for this long before asking Redis again. */
const DEGRADED_MS = 1000;

type LimiterClient = Redis & { rateLimitHit(key: string, windowMs: number): Promise<[number, number]> };

export interface SharedWindowLimiterOptions {
  readonly url: string;
  readonly max: number;
  readonly windowSeconds: number;
  /** Counts while Redis cannot: the process's own window per client. */
  readonly local: { hit(client: string): number };
  /** A Redis command slower than this counts as Redis down (default 100 ms): the limit must not slow answers. */
  readonly commandTimeoutMs?: number;
  /** Told once per outage that requests are counted per process, and once when Redis counts again. */
  readonly onDegraded: (degraded: boolean, reason: string) => void;
  /** Told of each request counted per process because Redis did not answer (a metric). */
  readonly onLocalHit: () => void;
}

/**
 * The rate limit across replicas: one budget per client in Redis. When Redis is down or slow, requests are never
 * failed for it: they are counted by the process's own limiter (one budget per replica) until Redis answers again.
 */
export class SharedWindowLimiter {
  private readonly client: LimiterClient;
  private readonly windowMs: number;
  private degradedUntil = 0;
  private degraded = false;

  constructor(private readonly options: SharedWindowLimiterOptions) {
    this.windowMs = Math.max(1, Math.round(options.windowSeconds * 1000));
    const client = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs ?? 100,
      connectTimeout: 1000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), 2000),
    });
    client.defineCommand('rateLimitHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    // Connection errors show as failed hits (and the degraded log line); unhandled they would crash the process.
    client.on('error', () => undefined);
    this.client = client as LimiterClient;
  }

  /** Counts one request; resolves with 0 when allowed, else the seconds until the client's window restarts. */
  async hit(clientId: string): Promise<number> {
    if (Date.now() < this.degradedUntil) return this.localHit(clientId);
    try {
      const [count, ttlMs] = await this.client.rateLimitHit(`${KEY_PREFIX}${clientId}`, this.windowMs);
      if (this.degraded) {
        this.degraded = false;
        this.options.onDegraded(false, 'redis answers again');
      }
      return count <= this.options.max ? 0 : Math.max(1, Math.ceil(ttlMs / 1000));
    } catch (error) {
      this.degradedUntil = Date.now() + DEGRADED_MS;
      if (!this.degraded) {
        this.degraded = true;
        this.options.onDegraded(true, errorMessage(error));
      }
      return this.localHit(clientId);
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }

  private localHit(clientId: string): number {
    this.options.onLocalHit();
    return this.options.local.hit(clientId);
  }
}
