import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { closeWithConnection, DAILY_RUN_QUEUE, KEEP_FINISHED, QUEUE_PREFIX, queueConnection, RETRAINING_QUEUE, withinDeadline, type QueueSettings } from './queues.js';

const SCHEDULE_DEADLINE_MS = 5000;

/** A job BullMQ's job scheduler queues once a day. */
export interface DailyJob {
  readonly queue: string;
  /** One id for every replica: upserting it again replaces it, so the job is queued once however many replicas start. */
  readonly scheduler: string;
  readonly jobName: string;
}

export const DAILY_RUN: DailyJob = { queue: DAILY_RUN_QUEUE, scheduler: 'daily-prediction-run', jobName: 'daily-run' };
export const RETRAINING: DailyJob = { queue: RETRAINING_QUEUE, scheduler: 'retraining-policy', jobName: 'retraining' };

export interface DailyTime {
  readonly hour: number;
  readonly minute: number;
  readonly second?: number;
  readonly timeZone: string;
}

/** BullMQ's cron with seconds: `S M H * * *`, every day (the jobs themselves skip what is not due). */
export function dailyPattern(time: DailyTime): string {
  return `${time.second ?? 0} ${time.minute} ${time.hour} * * *`;
}

/**
 * Puts a daily job on BullMQ's job scheduler at `time`, or takes it off (time undefined). Every API replica calls
 * this at start; the worker (ROLE=worker) runs the job. Redis being down is logged and retried, never fatal.
 */
export async function scheduleDaily(
  job: DailyJob,
  options: {
    readonly redisUrl: string;
    readonly time: DailyTime | undefined;
    readonly settings: QueueSettings;
    readonly logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
    readonly retryMs?: number;
  },
): Promise<void> {
  const { logger, time } = options;
  const connection = queueConnection(options.redisUrl, 'producer');
  const queue = new Queue(job.queue, { connection, prefix: QUEUE_PREFIX });
  queue.on('error', (error) => logger.debug({ err: error, queue: job.queue }, 'job queue connection error'));
  try {
    if (time === undefined) {
      await withinDeadline(queue.removeJobScheduler(job.scheduler), SCHEDULE_DEADLINE_MS);
      return;
    }
    const pattern = dailyPattern(time);
    await withinDeadline(
      queue.upsertJobScheduler(
        job.scheduler,
        { pattern, tz: time.timeZone },
        {
          name: job.jobName,
          data: {},
          opts: {
            attempts: options.settings.attempts,
            backoff: { type: 'exponential', delay: options.settings.backoffMs },
            removeOnComplete: KEEP_FINISHED,
            removeOnFail: KEEP_FINISHED,
          },
        },
      ),
      SCHEDULE_DEADLINE_MS,
    );
    logger.info({ scheduler: job.scheduler, pattern, tz: time.timeZone }, 'daily job scheduled on the job queue');
  } catch (error) {
    const retryMs = options.retryMs ?? 30_000;
    logger.warn({ err: errorMessage(error), scheduler: job.scheduler, retry_in_ms: retryMs }, 'daily job not scheduled yet: the job queue (Redis) is unavailable');
    setTimeout(() => void scheduleDaily(job, options), retryMs).unref();
  } finally {
    await closeWithConnection(queue, connection);
  }
}
