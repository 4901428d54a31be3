import type { FastifyBaseLogger as Logger } from 'fastify';
import { UnavailableError } from '../errors.js';
import { symbolOfModelKey } from '../ml/types.js';
import { runDaily, type OutcomeListener, type RunRequest, type TrackingDeps } from '../tracking/daily-run.js';
import { openTrackingStore } from '../tracking/open.js';
import type { DailyRun, TrackingStore } from '../tracking/store.js';
import { withServedBands } from './adaptive-outcomes.js';
import { tradingSignal } from './prediction-body.js';
import type { Services } from './services.js';

/** How long to wait before trying an unreachable tracking database again. */
const REOPEN_SECONDS = 30;

/**
 * The service's prediction tracking: the store (opened at start, re-tried while unreachable, so a database outage
 * degrades the tracking routes to 503 and never stops the service), and daily runs over the served models.
 */
export class Tracking {
  private current: TrackingStore | undefined;
  private opening: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listeners: OutcomeListener[] = [];

  constructor(
    private readonly services: Services,
    private readonly logger: Logger,
  ) {}

  /** Opens the store; on failure logs and schedules another attempt. */
  open(): Promise<void> {
    this.opening ??= openTrackingStore(this.services.config, (error) => this.logger.warn({ err: error }, 'tracking database connection lost'))
      .then((store) => {
        if (this.closed) return store.close();
        this.current = store;
        this.logger.info({ database: store.dialect }, 'prediction tracking store ready');
      })
      .catch((error: unknown) => {
        this.logger.error({ err: error }, `prediction tracking store unavailable; retrying in ${REOPEN_SECONDS} s`);
        if (this.closed) return;
        this.retry = setTimeout(() => {
          this.opening = undefined;
          void this.open();
        }, REOPEN_SECONDS * 1000);
        this.retry.unref();
      });
    return this.opening;
  }

  /** The open store, or a 503 TRACKING_UNAVAILABLE. */
  store(): TrackingStore {
    if (!this.current) throw new UnavailableError('the prediction-tracking database is unavailable', REOPEN_SECONDS, undefined, 'TRACKING_UNAVAILABLE');
    return this.current;
  }

  /** Called with every batch of newly scored forecasts (the hook for online recalibration from matured outcomes). */
  onOutcomes(listener: OutcomeListener): void {
    this.listeners.push(listener);
  }

  deps(): TrackingDeps {
    const { config, registry, market } = this.services;
    return {
      store: this.store(),
      market,
      acquire: (symbol) => {
        const lease = registry.acquire(symbol);
        return lease && withServedBands(lease, symbol, this.services.adaptiveBands);
      },
      signal: (current, predicted) => tradingSignal(current, predicted, { buy: config.buyThreshold, sell: config.sellThreshold }),
      horizon: config.dailyPrediction.horizon,
      onOutcomes: (symbol, scored) => {
        for (const listener of this.listeners) {
          try {
            listener(symbol, scored);
          } catch (error) {
            this.logger.error({ err: error, symbol }, 'outcome listener failed');
          }
        }
      },
    };
  }

  /** DAILY_PREDICTION_SYMBOLS, or every symbol with a model of its own. */
  defaultSymbols(): string[] {
    const configured = this.services.config.dailyPrediction.symbols;
    if (configured.length > 0) return [...configured];
    return this.services.registry
      .entries()
      .flatMap((e) => (e.status === 'ready' ? (symbolOfModelKey(e.key) ?? []) : []))
      .sort();
  }

  run(request: RunRequest): Promise<DailyRun> {
    return runDaily(this.deps(), request);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.opening;
    await this.current?.close();
    this.current = undefined;
  }
}
