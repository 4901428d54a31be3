import { UnavailableError } from '../errors.js';

/**
 * Who is asking for an upstream request. Refreshes of symbols whose bars are already stored go
 * first: they keep known symbols current, while first lookups of new (maybe unknown) symbols
 * are what a flood of bad tickers is made of.
 */
export type FetchPriority = 'refresh' | 'lookup';

export interface RequestPacerOptions {
  readonly ratePerSecond: number;
  /** Calls let through at once before pacing starts (default: the rate, at least 1). */
  readonly burst?: number;
  /** Lookups allowed to wait at once; one more fails fast instead of queueing (default 10). */
  readonly maxQueuedLookups?: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Token bucket with two queues: up to `burst` calls at once, then `ratePerSecond` on average.
 * Callers over the rate wait their turn rather than fail (a Yahoo 429 would cost more), refreshes
 * ahead of lookups. The lookup queue is bounded, and a caller whose turn would come after its
 * deadline is told at once: no request waits in line only to be given up on.
 */
export class RequestPacer {
  private readonly ratePerMs: number;
  private readonly burst: number;
  private readonly maxQueuedLookups: number;
  private tokens: number;
  private updatedAt: number;
  private readonly queues: Record<FetchPriority, Waiter[]> = { refresh: [], lookup: [] };
  private pump: NodeJS.Timeout | undefined;

  constructor(options: RequestPacerOptions) {
    const { ratePerSecond } = options;
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`rate must be a positive number per second, got ${ratePerSecond}`);
    this.ratePerMs = ratePerSecond / 1000;
    this.burst = options.burst ?? Math.max(1, Math.floor(ratePerSecond));
    this.maxQueuedLookups = options.maxQueuedLookups ?? 10;
    this.tokens = this.burst;
    this.updatedAt = performance.now();
  }

  /** Callers waiting now, per priority. */
  get queued(): Record<FetchPriority, number> {
    return { refresh: this.queues.refresh.length, lookup: this.queues.lookup.length };
  }

  /**
   * Resolves when the caller may make one request. Rejects with UnavailableError at once when the
   * lookup queue is full or the caller's turn would come after `deadline` (a performance.now() time),
   * and at `deadline` if it is still waiting then.
   */
  take(priority: FetchPriority = 'lookup', deadline = Infinity): Promise<void> {
    this.refill();
    const waiting = this.queues.refresh.length + this.queues.lookup.length;
    if (waiting === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    if (priority === 'lookup' && this.queues.lookup.length >= this.maxQueuedLookups) {
      return Promise.reject(new UnavailableError(`too many new symbols are being looked up (${this.maxQueuedLookups} waiting); try again shortly`, this.retryAfterSeconds()));
    }
    // Everyone ahead in line (a lookup waits behind every refresh too), then this caller.
    const ahead = priority === 'refresh' ? this.queues.refresh.length : waiting;
    const turnAt = performance.now() + (ahead + 1 - this.tokens) / this.ratePerMs;
    if (turnAt > deadline) {
      return Promise.reject(new UnavailableError(`the market data source's request queue would not reach this request within its fetch budget`, this.retryAfterSeconds()));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      if (Number.isFinite(deadline)) {
        waiter.timer = setTimeout(() => {
          const queue = this.queues[priority];
          const at = queue.indexOf(waiter);
          if (at < 0) return;
          queue.splice(at, 1);
          reject(new UnavailableError('the fetch budget ran out while waiting for the market data source', this.retryAfterSeconds()));
        }, Math.max(0, deadline - performance.now()));
        waiter.timer.unref();
      }
      this.queues[priority].push(waiter);
      this.schedule();
    });
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.ratePerMs);
    this.updatedAt = now;
  }

  /** Wakes up when the next token is due and hands it to the first waiter, refreshes first. */
  private schedule(): void {
    if (this.pump !== undefined) return;
    const wait = Math.max(0, (1 - this.tokens) / this.ratePerMs);
    this.pump = setTimeout(() => {
      this.pump = undefined;
      this.refill();
      while (this.tokens >= 1) {
        const waiter = this.queues.refresh.shift() ?? this.queues.lookup.shift();
        if (waiter === undefined) break;
        this.tokens -= 1;
        if (waiter.timer !== undefined) clearTimeout(waiter.timer);
        waiter.resolve();
      }
      if (this.queues.refresh.length + this.queues.lookup.length > 0) this.schedule();
    }, wait);
  }

  /** Whole seconds until the current queue has drained. */
  private retryAfterSeconds(): number {
    const waiting = this.queues.refresh.length + this.queues.lookup.length;
    return Math.max(1, Math.ceil((waiting + 1) / (this.ratePerMs * 1000)));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
