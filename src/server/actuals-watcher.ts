import type { FastifyBaseLogger as Logger } from 'fastify';
import { errorMessage } from '../errors.js';
import { scoreMatured, type TrackingDeps } from '../tracking/daily-run.js';
import type { Tracking } from './tracking.js';

export interface ActualsWatcherOptions {
  readonly tracking: Tracking;
  readonly logger: Logger;
  /** Told after each pass that scored something (metrics refresh). */
  readonly onScored?: (count: number) => void;
  /** How often the bars of symbols with waiting forecasts are read: new closes are scored within this much time. */
  readonly intervalMs: number;
}

/**
 * Scores matured forecasts as soon as their closes appear: every interval, the bars of each symbol with unscored
 * forecasts are read through the market-data provider (CSV rows appended, or stored Yahoo bars, whose due refresh
 * this read starts), and every forecast whose target day now has a bar is scored. A refresh that stores new Yahoo
 * bars calls scoreSymbol at once, so those are scored when they arrive, not at the next pass. Passes and single
 * symbols run one at a time, so no forecast is scored (and reported to outcome listeners) twice.
 */
export class ActualsWatcher {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<number> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ActualsWatcherOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.scoreNow(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass over every symbol with waiting forecasts (a pass already waiting or running is joined, not doubled). */
  scoreNow(): Promise<number> {
    this.pass ??= this.serial(async () => {
      this.pass = undefined;
      try {
        const deps = this.options.tracking.deps();
        let total = 0;
        for (const symbol of await deps.store.symbolsAwaitingActuals()) total += await this.scoreOne(deps, symbol);
        return this.reported(total);
      } catch (error) {
        this.options.logger.warn({ err: errorMessage(error) }, 'scoring matured forecasts skipped');
        return 0;
      }
    });
    return this.pass;
  }

  /** Scores one symbol's matured forecasts now (new bars were just stored for it). */
  scoreSymbol(symbol: string): Promise<number> {
    return this.serial(async () => {
      try {
        return this.reported(await this.scoreOne(this.options.tracking.deps(), symbol));
      } catch (error) {
        this.options.logger.warn({ symbol, err: errorMessage(error) }, 'scoring matured forecasts skipped');
        return 0;
      }
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async scoreOne(deps: TrackingDeps, symbol: string): Promise<number> {
    try {
      return await scoreMatured(deps, symbol, await deps.market.getBars(symbol));
    } catch (error) {
      this.options.logger.warn({ symbol, err: errorMessage(error) }, 'scoring matured forecasts failed for a symbol');
      return 0;
    }
  }

  private reported(total: number): number {
    if (total > 0) {
      this.options.logger.info({ scored: total }, 'matured forecasts scored');
      this.options.onScored?.(total);
    }
    return total;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.queue;
  }
}
