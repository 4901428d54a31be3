import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { closeWithConnection, DAILY_RUN_QUEUE, KEEP_FINISHED, QUEUE_PREFIX, queueConnection, withinDeadline, type QueueSettings } from './queues.js';

/** One scheduler id for every replica: upserting it again replaces it, so the run is scheduled once however many replicas start. */
export const DAILY_RUN_SCHEDULER = 'daily-prediction-run';
const SCHEDULE_DEADLINE_MS = 5000;

export interface DailyTime {
  readonly hour: number;
  readonly minute: number;
  readonly second?: number;
  readonly timeZone: string;
}

/** BullMQ's cron with seconds: `S M H * * *`, every day (the run itself skips days the market is closed). */
export function dailyPattern(time: DailyTime): string {
  return `${time.second ?? 0} ${time.minute} ${time.hour} * * *`;
}

/**
 * Puts the daily prediction run on BullMQ's job scheduler (enabled) or takes it off (disabled). Every API replica
 * calls this at start; the worker (ROLE=worker) runs the job. Redis being down is logged and retried, never fatal.
 */
export async function scheduleDailyRun(options: {
  readonly redisUrl: string;
  readonly enabled: boolean;
  readonly time: DailyTime;
  readonly settings: QueueSettings;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  readonly retryMs?: number;
}): Promise<void> {
  const { logger } = options;
  const connection = queueConnection(options.redisUrl, 'producer');
  const queue = new Queue(DAILY_RUN_QUEUE, { connection, prefix: QUEUE_PREFIX });
  queue.on('error', (error) => logger.debug({ err: error }, 'daily run queue connection error'));
  try {
    if (!options.enabled) {
      await withinDeadline(queue.removeJobScheduler(DAILY_RUN_SCHEDULER), SCHEDULE_DEADLINE_MS);
      return;
    }
    const pattern = dailyPattern(options.time);
    await withinDeadline(queue.upsertJobScheduler(
      DAILY_RUN_SCHEDULER,
      { pattern, tz: options.time.timeZone },
      {
        name: 'daily-run',
        data: {},
        opts: {
          attempts: options.settings.attempts,
          backoff: { type: 'exponential', delay: options.settings.backoffMs },
          removeOnComplete: KEEP_FINISHED,
          removeOnFail: KEEP_FINISHED,
        },
      },
    ), SCHEDULE_DEADLINE_MS);
    logger.info({ pattern, tz: options.time.timeZone }, 'daily prediction run scheduled on the job queue');
  } catch (error) {
    const retryMs = options.retryMs ?? 30_000;
    logger.warn({ err: errorMessage(error), retry_in_ms: retryMs }, 'daily prediction run not scheduled yet: the job queue (Redis) is unavailable');
    setTimeout(() => void scheduleDailyRun(options), retryMs).unref();
  } finally {
    await closeWithConnection(queue, connection);
  }
}
