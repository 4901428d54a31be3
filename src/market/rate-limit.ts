/**
 * Token bucket: up to `burst` calls at once, then `ratePerSecond` on average. Callers over the
 * rate wait their turn (in call order) rather than fail, since a Yahoo 429 would cost more.
 */
export class TokenBucket {
  private readonly ratePerMs: number;
  private readonly burst: number;
  private tokens: number;
  private updatedAt: number;

  constructor(ratePerSecond: number, burst = Math.max(1, Math.floor(ratePerSecond))) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`rate must be a positive number per second, got ${ratePerSecond}`);
    this.ratePerMs = ratePerSecond / 1000;
    this.burst = burst;
    this.tokens = burst;
    this.updatedAt = performance.now();
  }

  /** Resolves when the caller may make one request. */
  async take(): Promise<void> {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.ratePerMs);
    this.updatedAt = now;
    // Reserve a token even when none is left: the debt orders later callers behind this one.
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    await sleep(-this.tokens / this.ratePerMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
