import { Redis } from 'ioredis';

/** The BullMQ queues of the service; every replica and worker uses these names on the same Redis. */
export const TRAINING_QUEUE = 'training';
export const DAILY_RUN_QUEUE = 'daily-run';
export const RETRAINING_QUEUE = 'retraining';
/** Keys of BullMQ's own data start with this, apart from the prediction cache's `stock-prediction:` keys. */
export const QUEUE_PREFIX = 'stock-prediction-jobs';

export interface QueueSettings {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
}

/** Finished jobs kept for GET /api/v1/jobs/:id (as many as the in-process job list keeps). */
export const KEEP_FINISHED = { count: 100 };

/**
 * A connection for BullMQ. Workers block on Redis and must wait out an outage (`maxRetriesPerRequest: null`, as
 * BullMQ requires); the API's queue fails fast instead, so a request never hangs on a Redis that is down.
 */
export function queueConnection(url: string, role: 'worker' | 'producer'): Redis {
  return new Redis(url, role === 'worker'
    ? { maxRetriesPerRequest: null, retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), 2000) }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 1000, retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), 2000) });
}

/** `work`, or a rejection once `ms` have passed: a call to a Redis that is down must not hang its caller. */
export async function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes a BullMQ queue or worker, then its connection: BullMQ leaves a connection it was given open, and its close
 * waits for a Redis that may never answer (bounded here by `ms`).
 */
export async function closeWithConnection(closable: { close(): Promise<void> }, connection: Redis, ms = 5000): Promise<void> {
  await withinDeadline(closable.close(), ms).catch(() => undefined);
  connection.disconnect();
}
