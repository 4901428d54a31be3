import underPressure, { TYPE_EVENT_LOOP_DELAY, TYPE_HEAP_USED_BYTES } from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';
import type { AppConfig } from '../../config/env.js';
import { catalogMessage, UnavailableError } from '../../errors.js';
import type { ShedReason } from '../../observability/metrics.js';
import type { AdmissionState } from '../compute-admission.js';
import type { ServiceHealth } from '../schemas.js';

export interface LoadSheddingOptions {
  /** Mean event-loop delay over the last sample above which requests are shed (0: never). */
  readonly maxEventLoopDelayMs: number;
  /** V8 heap in use above which requests are shed (0: never). */
  readonly maxHeapUsedBytes: number;
  readonly retryAfterSeconds: number;
  /** Requests that are always served (health probes, metrics scrapes). */
  readonly exempt: (request: FastifyRequest) => boolean;
  /** Called once per shed request (the shed counter). */
  readonly onShed: (reason: ShedReason) => void;
}

const MIB = 1024 * 1024;

function describe(type: string, value: number | undefined, options: LoadSheddingOptions): { reason: ShedReason | undefined; text: string } {
  if (type === TYPE_EVENT_LOOP_DELAY) return { reason: 'event_loop_delay', text: `event loop delay ${Math.round(value ?? 0)} ms > ${options.maxEventLoopDelayMs} ms` };
  if (type === TYPE_HEAP_USED_BYTES) return { reason: 'heap', text: `heap ${Math.round((value ?? 0) / MIB)} MiB > ${Math.round(options.maxHeapUsedBytes / MIB)} MiB` };
  return { reason: undefined, text: type };
}

/**
 * Load shedding with @fastify/under-pressure: while the event loop lags or the heap is nearly full, requests are
 * answered at once with 503 + Retry-After in the contract's error shape (code OVERLOADED) instead of queueing
 * until every request times out. Probes and scrapes are exempt, so they keep telling the truth (see loadHealth).
 * Prediction work that queues without lagging the loop is caught by admission control (compute-admission.ts).
 */
export default fp<LoadSheddingOptions>(
  async (app, options) => {
    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      maxHeapUsedBytes: options.maxHeapUsedBytes,
      // A rejected promise goes to the error handler (contract body + Retry-After); undefined serves the request.
      pressureHandler: (request, _reply, type, value) => {
        if (options.exempt(request)) return undefined;
        const { reason, text } = describe(type, value, options);
        if (reason) options.onShed(reason);
        return Promise.reject(new UnavailableError(catalogMessage('OVERLOADED', text), options.retryAfterSeconds, { reason: type }, 'OVERLOADED'));
      },
    });
  },
  { name: 'load-shedding' },
);

/** The `load` entry of the detailed health report: degraded while requests are being shed, for either cause. */
export function loadHealth(app: FastifyInstance, limits: AppConfig['loadShedding'], admission: AdmissionState): z.output<typeof ServiceHealth> {
  const usage = app.memoryUsage();
  const loop = `event loop delay ${Math.round(usage.eventLoopDelay)} ms, heap ${Math.round(usage.heapUsed / MIB)} MiB`;
  const work =
    limits.maxQueueWaitMs > 0
      ? `uncached predictions: ${admission.computing} of ${admission.slots} slots busy, ${admission.waiting} waiting (oldest ${Math.round(admission.oldestWaitMs)} ms)`
      : 'uncached predictions: no admission control';
  const limitText = `limits: ${limits.maxEventLoopDelayMs || 'none'} ms, ${limits.maxHeapUsedBytes ? `${Math.round(limits.maxHeapUsedBytes / MIB)} MiB` : 'none'}, queue wait ${limits.maxQueueWaitMs || 'none'}${limits.maxQueueWaitMs ? ' ms' : ''}`;
  const figures = `${loop}; ${work} (${limitText})`;
  if (app.isUnderPressure() || admission.shedding) return { status: 'degraded', message: `shedding load (503 + Retry-After): ${figures}` };
  return { status: 'healthy', message: figures };
}
