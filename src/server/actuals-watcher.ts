import type { FastifyBaseLogger as Logger } from 'fastify';
import { errorMessage } from '../errors.js';
import { scoreMatured } from '../tracking/daily-run.js';
import type { Tracking } from './tracking.js';

/** How often the bars of symbols with waiting forecasts are read: new closes are scored within this much time. */
export const ACTUALS_INTERVAL_MS = 30_000;

export interface ActualsWatcherOptions {
  readonly tracking: Tracking;
  readonly logger: Logger;
  /** Told after each pass that scored something (metrics refresh). */
  readonly onScored?: (count: number) => void;
  readonly intervalMs?: number;
}

/**
 * Scores matured forecasts as soon as their closes appear: every interval, the bars of each symbol with unscored
 * forecasts are read through the market-data provider (CSV rows appended, or a fresh Yahoo response once its cache
 * expires) and every forecast whose target day now has a bar is scored.
 */
export class ActualsWatcher {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<number> | undefined;

  constructor(private readonly options: ActualsWatcherOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.scoreNow(), this.options.intervalMs ?? ACTUALS_INTERVAL_MS);
    this.timer.unref();
  }

  /** One pass (a pass already running is joined, not doubled). Returns how many forecasts were scored. */
  scoreNow(): Promise<number> {
    this.pass ??= this.run().finally(() => {
      this.pass = undefined;
    });
    return this.pass;
  }

  private async run(): Promise<number> {
    const { tracking, logger } = this.options;
    let total = 0;
    try {
      const deps = tracking.deps();
      for (const symbol of await deps.store.symbolsAwaitingActuals()) {
        try {
          total += await scoreMatured(deps, symbol, await deps.market.getBars(symbol));
        } catch (error) {
          logger.warn({ symbol, err: errorMessage(error) }, 'scoring matured forecasts failed for a symbol');
        }
      }
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, 'scoring matured forecasts skipped');
    }
    if (total > 0) {
      logger.info({ scored: total }, 'matured forecasts scored');
      this.options.onScored?.(total);
    }
    return total;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.pass;
  }
}
