import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { addDays } from '../calendar/iso-date.js';
import { isTradingDay, lastClosedSession, NYSE_TIME_ZONE } from '../calendar/nyse.js';
import { zonedInstant, zonedTime } from '../calendar/zoned-time.js';
import type { AppConfig } from '../config/env.js';
import type { RunRequest } from '../tracking/daily-run.js';
import type { DailyRun } from '../tracking/store.js';
import type { Tracking } from './tracking.js';

/** How often the scheduler looks at the clock. */
const TICK_MS = 30_000;
/** A lock older than this belongs to a replica that died mid-run: another may take the day over. */
const LOCK_TTL_MS = 30 * 60_000;

/** What the scheduler needs of the service's tracking (the Tracking class). */
export type ScheduledRunner = Pick<Tracking, 'store' | 'defaultSymbols' | 'run'>;

export interface DailySchedulerOptions {
  readonly config: AppConfig['dailyPrediction'];
  readonly tracking: ScheduledRunner;
  readonly logger: Logger;
  /** Told about every finished run (metrics). */
  readonly onRun?: (run: DailyRun) => void;
  readonly now?: () => Date;
}

/**
 * The daily run inside the service: once a day at DAILY_PREDICTION_TIME (in its time zone), on NYSE trading days,
 * forecast the configured symbols after the last closed session. Across replicas sharing a database exactly one
 * runs it: the run takes a lock row for the session, and a session with a completed scheduled run is not run again.
 */
export class DailyScheduler {
  private timer: NodeJS.Timeout | undefined;
  private lastCheckedDate: string | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private readonly owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly now: () => Date;

  constructor(private readonly options: DailySchedulerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    if (!this.options.config.enabled || this.timer) return;
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  /** The next instant the scheduled run will start, or null when it is disabled. */
  nextRun(): Date | null {
    if (!this.options.config.enabled) return null;
    const { hour, minute, timeZone } = this.options.config.time;
    const now = this.now();
    const today = zonedTime(now, timeZone).date;
    for (let k = 0; k < 14; k += 1) {
      const at = zonedInstant(addDays(today, k), hour * 60 + minute, timeZone);
      if (at > now && isTradingDay(zonedTime(at, NYSE_TIME_ZONE).date)) return at;
    }
    return null;
  }

  /** A run (scheduled or requested), reported to `onRun` whatever its outcome. Runs never overlap in one process. */
  runObserved(request: RunRequest): Promise<DailyRun> {
    const run = this.running.then(() => this.options.tracking.run(request));
    this.running = run.catch(() => undefined);
    return run.then((result) => {
      this.options.onRun?.(result);
      // Scheduled or asked for, every run leaves a line; a symbol that failed is a warning with its reason.
      const fields = { date: result.execution_date, type: result.execution_type, status: result.status, recorded: result.recorded_forecasts, failed: result.failed_predictions };
      if (result.failed_predictions > 0) this.options.logger.warn({ ...fields, error: result.error_message }, 'daily prediction run finished with failures');
      else this.options.logger.info(fields, 'daily prediction run finished');
      return result;
    });
  }

  /** Runs today's scheduled forecasts if it is time, the market day qualifies and no replica has done them. */
  async tick(): Promise<DailyRun | undefined> {
    const { hour, minute, timeZone } = this.options.config.time;
    const now = this.now();
    const local = zonedTime(now, timeZone);
    if (local.minutes < hour * 60 + minute || this.lastCheckedDate === local.date) return undefined;
    this.lastCheckedDate = local.date;
    const marketDay = zonedTime(now, NYSE_TIME_ZONE).date;
    const { logger, tracking } = this.options;
    if (!isTradingDay(marketDay)) {
      logger.info({ date: marketDay }, 'daily prediction run skipped: the market is closed today');
      return undefined;
    }
    const session = lastClosedSession(now);
    const lockKey = `scheduled:${session}`;
    try {
      const store = tracking.store();
      if (!(await store.tryLock(lockKey, this.owner, new Date(now.getTime() + LOCK_TTL_MS), now))) {
        logger.info({ session }, 'daily prediction run: another replica holds the lock');
        return undefined;
      }
      try {
        if (await store.completedRun(session, ['scheduled'])) return undefined;
        return await this.runObserved({ date: session, symbols: tracking.defaultSymbols(), type: 'scheduled' });
      } finally {
        await store.releaseLock(lockKey, this.owner);
      }
    } catch (error) {
      // Unreachable database or a bug: logged, and tried again on the next tick.
      this.lastCheckedDate = undefined;
      logger.error({ err: error, session }, 'daily prediction run failed');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
