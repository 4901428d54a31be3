import underPressure, { TYPE_EVENT_LOOP_DELAY, TYPE_HEAP_USED_BYTES } from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';
import { catalogMessage, UnavailableError } from '../../errors.js';
import type { ServiceHealth } from '../schemas.js';

export interface LoadSheddingOptions {
  /** Mean event-loop delay over the last sample above which requests are shed (0: never). */
  readonly maxEventLoopDelayMs: number;
  /** V8 heap in use above which requests are shed (0: never). */
  readonly maxHeapUsedBytes: number;
  readonly retryAfterSeconds: number;
  /** Requests that are always served (health probes, metrics scrapes). */
  readonly exempt: (request: FastifyRequest) => boolean;
}

const MIB = 1024 * 1024;

function describe(type: string, value: number | undefined, options: LoadSheddingOptions): string {
  if (type === TYPE_EVENT_LOOP_DELAY) return `event loop delay ${Math.round(value ?? 0)} ms > ${options.maxEventLoopDelayMs} ms`;
  if (type === TYPE_HEAP_USED_BYTES) return `heap ${Math.round((value ?? 0) / MIB)} MiB > ${Math.round(options.maxHeapUsedBytes / MIB)} MiB`;
  return type;
}

/**
 * Load shedding with @fastify/under-pressure: while the event loop lags or the heap is nearly full, requests are
 * answered at once with 503 + Retry-After in the contract's error shape (code OVERLOADED) instead of queueing
 * until every request times out. Probes and scrapes are exempt, so they keep telling the truth (see loadHealth).
 */
export default fp<LoadSheddingOptions>(
  async (app, options) => {
    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      maxHeapUsedBytes: options.maxHeapUsedBytes,
      // A rejected promise goes to the error handler (contract body + Retry-After); undefined serves the request.
      pressureHandler: (request, _reply, type, value) => {
        if (options.exempt(request)) return undefined;
        const reason = describe(type, value, options);
        return Promise.reject(new UnavailableError(catalogMessage('OVERLOADED', reason), options.retryAfterSeconds, { reason: type }, 'OVERLOADED'));
      },
    });
  },
  { name: 'load-shedding' },
);

/** The `load` entry of the detailed health report: degraded while requests are being shed. */
export function loadHealth(app: FastifyInstance, options: Pick<LoadSheddingOptions, 'maxEventLoopDelayMs' | 'maxHeapUsedBytes'>): z.output<typeof ServiceHealth> {
  const usage = app.memoryUsage();
  const figures = `event loop delay ${Math.round(usage.eventLoopDelay)} ms, heap ${Math.round(usage.heapUsed / MIB)} MiB`;
  const limits = `limits: ${options.maxEventLoopDelayMs || 'none'} ms, ${options.maxHeapUsedBytes ? `${Math.round(options.maxHeapUsedBytes / MIB)} MiB` : 'none'}`;
  if (app.isUnderPressure()) return { status: 'degraded', message: `shedding load (503 + Retry-After): ${figures} (${limits})` };
  return { status: 'healthy', message: `${figures} (${limits})` };
}
