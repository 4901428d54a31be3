import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../error-handler.js';

export interface RateLimitOptions {
  /** Requests one client may make per window. */
  readonly max: number;
  readonly windowSeconds: number;
  /** Requests that are never counted (probes, scrapes). */
  readonly exempt?: (request: FastifyRequest) => boolean;
  /** Clients tracked at once; bounds memory when many addresses pass through in one window. */
  readonly maxClients?: number;
  /** Clock in milliseconds (tests of the window reset). */
  readonly now?: () => number;
  /** With Redis: one budget per client across every replica (per process while Redis does not answer). */
  readonly shared?: { readonly redisUrl: string; readonly onDegraded: (degraded: boolean, reason: string) => void; readonly onLocalHit: () => void };
}

interface Window {
  count: number;
  readonly resetAt: number;
}

const DEFAULT_MAX_CLIENTS = 100_000;

/**
 * Fixed-window rate limit per client address (`request.ip`, so TRUST_PROXY decides whose X-Forwarded-For
 * counts). Over the limit: 429 with Retry-After and the contract's JSON error body.
 *
 * With REDIS_URL the count lives in Redis (SharedWindowLimiter): one budget per client across replicas.
 *
 * Our own instead of @fastify/rate-limit because that plugin cost about as much per request as our whole
 * cached prediction handler (IPv6 regex on every address, a store object, three X-RateLimit-* headers and an
 * onSend hook on every response); this is one Map lookup and one increment.
 */
export class FixedWindowLimiter {
  /**
   * Insertion order is window-start order (an entry is re-inserted when its window restarts and every window
   * has the same length), so expired entries are always at the front and the sweep stops at the first live one.
   */
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly maxClients: number;

  constructor(
    private readonly max: number,
    windowSeconds: number,
    private readonly now: () => number = Date.now,
    maxClients = DEFAULT_MAX_CLIENTS,
  ) {
    this.windowMs = windowSeconds * 1000;
    this.maxClients = maxClients;
  }

  /** Counts one request; returns 0 when allowed, else the seconds until the client's window restarts. */
  hit(client: string): number {
    const now = this.now();
    const current = this.windows.get(client);
    if (current !== undefined && now < current.resetAt) {
      if (current.count >= this.max) return Math.max(1, Math.ceil((current.resetAt - now) / 1000));
      current.count += 1;
      return 0;
    }
    if (current !== undefined) this.windows.delete(client);
    else if (this.windows.size >= this.maxClients) {
      this.sweep(now);
      // Still full of live windows: forget the oldest client rather than grow without bound (it merely
      // starts a fresh window, which errs on the side of serving).
      if (this.windows.size >= this.maxClients) {
        const oldest = this.windows.keys().next();
        if (oldest.done !== true) this.windows.delete(oldest.value);
      }
    }
    this.windows.set(client, { count: 1, resetAt: now + this.windowMs });
    return 0;
  }

  /** Drops every expired window. */
  sweep(now = this.now()): void {
    for (const [client, window] of this.windows) {
      if (window.resetAt > now) break;
      this.windows.delete(client);
    }
  }

  get size(): number {
    return this.windows.size;
  }
}

async function rateLimitPlugin(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const limiter = new FixedWindowLimiter(options.max, options.windowSeconds, options.now, options.maxClients);
  // Imported only with REDIS_URL (its Redis client is not needed otherwise).
  const shared = options.shared
    ? new (await import('../redis-window-limiter.js')).SharedWindowLimiter({ url: options.shared.redisUrl, max: options.max, windowSeconds: options.windowSeconds, local: limiter, onDegraded: options.shared.onDegraded, onLocalHit: options.shared.onLocalHit })
    : undefined;
  const exempt = options.exempt ?? (() => false);
  const message = `rate limit exceeded: at most ${options.max} requests per ${options.windowSeconds} s per client`;
  const limited = (reply: FastifyReply, retryAfter: number): void => {
    void reply
      .code(429)
      .header('Retry-After', String(retryAfter))
      .type('application/json; charset=utf-8')
      .send(errorBody('RATE_LIMITED', `${message}; retry in ${retryAfter} s`));
  };

  app.addHook('onRequest', (request, reply, done) => {
    if (exempt(request)) return done();
    if (shared) {
      // hit() never rejects: a Redis that does not answer falls back to this process's count.
      void shared.hit(request.ip).then((retryAfter) => (retryAfter === 0 ? done() : limited(reply, retryAfter)));
      return;
    }
    const retryAfter = limiter.hit(request.ip);
    if (retryAfter === 0) return done();
    limited(reply, retryAfter);
  });

  // Without the sweep, clients seen once would stay in the map until it fills.
  const timer = setInterval(() => limiter.sweep(), Math.max(1000, options.windowSeconds * 1000));
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await shared?.close();
  });
}

export default fp(rateLimitPlugin, { name: 'rate-limit' });
