import type { AdaptiveBands } from '../ml/adaptive-bands.js';
import type { AdaptiveIntervalState } from '../ml/types.js';
import { isOverloaded, type ComputeAdmission, type ComputeTicket } from './compute-admission.js';
import { predictionCacheKey } from './prediction-cache-key.js';
import { forEachLimited } from '../async/for-each-limited.js';
import { LRUCache } from 'lru-cache';
import type { TieredCache } from '../cache/tiered-cache.js';
import { AppError, DataValidationError, type ErrorCode, errorMessage, NotFoundError, UnavailableError } from '../errors.js';
import type { Bar } from '../market/bar.js';
import type { MarketDataProvider } from '../market/provider.js';
import { InsufficientBarsError } from '../ml/errors.js';
import { bandStartFromHistory } from '../ml/history-start.js';
import type { Metrics, PredictionErrorReason } from '../observability/metrics.js';
import type { ModelRegistry } from './model-registry.js';
import { buildPrediction, type Prediction, type SignalThresholds } from './prediction-body.js';

export interface PredictionServiceOptions {
  readonly registry: ModelRegistry;
  readonly market: MarketDataProvider;
  readonly cache: TieredCache<Prediction>;
  readonly metrics: Metrics;
  readonly thresholds: SignalThresholds;
  readonly ttlSeconds: number;
  /** The tfjs backend, `none` while tfjs is not loaded (a label of inference_duration_seconds). */
  readonly backend: () => string;
  /** Live adaptive band states (served instead of the model's end-of-test-split one once outcomes have matured; a symbol the model never trained on starts from its own history). */
  readonly bands?: AdaptiveBands;
  /** Clock of prediction timestamps and of the bars memo's reuse window, injectable for tests. */
  readonly now?: () => Date;
  /** Admission control on uncached work (load shedding); without it every request computes at once. */
  readonly admission?: ComputeAdmission;
}

/** Sizes of the in-process memos, reported by /api/v1/stats. */
export interface MemoSizes {
  readonly bars: { readonly size: number; readonly max: number };
  readonly outage_fallback_keys: { readonly size: number; readonly max: number };
}

export interface BatchResult {
  readonly predictions: Prediction[];
  readonly errors: { symbol: string; error: string; status: number; code: ErrorCode }[];
}

const BATCH_CONCURRENCY = 4;
/**
 * Bars read for a symbol are reused this long: concurrent and back-to-back requests share one read (the hot
 * cached path then costs no file stat), while a replaced CSV or a new bar is seen within a second.
 */
const BARS_REUSE_MS = 1000;
/** Symbols whose bars are memoized; beyond it the least recently used symbol is dropped. */
const BARS_MEMO_MAX = 1000;
/** (symbol, horizon) pairs whose last cache key is remembered for outages; least recently used dropped beyond it. */
const FALLBACK_KEYS_MAX = 10_000;

/** A forecaster's failure as the client sees it: too little history is a 404, bars failing validation a 503. */
function forecastFailure(error: unknown, symbol: string): unknown {
  if (error instanceof InsufficientBarsError) {
    return new NotFoundError(`not enough history for ${symbol}: ${error.message}`, { symbol, required: error.required, available: error.available }, 'INSUFFICIENT_HISTORY');
  }
  if (error instanceof DataValidationError) return new UnavailableError(`market data for ${symbol} failed validation: ${error.message}`, 60, { symbol });
  return error;
}

/**
 * The live bands' part of a cache key: an outcome that moves them makes the next answer new, and a start is
 * named by the history it came from, so replicas or restarts that computed it on other bars never share an entry.
 */
function bandsTag(adaptive: AdaptiveIntervalState | undefined): string {
  if (adaptive === undefined) return '';
  return `/bands${adaptive.outcomes}${adaptive.start === undefined ? '' : `@${adaptive.start.as_of}`}`;
}

function errorReason(error: unknown): PredictionErrorReason {
  if (isOverloaded(error)) return 'overloaded';
  if (error instanceof AppError) {
    if (error.status === 404) return 'not_found';
    if (error.status === 400) return 'validation';
    if (error.status === 503) return 'unavailable';
  }
  return 'internal';
}

/**
 * Predictions for the HTTP layer: market data from the provider, the symbol's model (or the global one),
 * and the tiered cache keyed by exactly (symbol, model version, last bar date, horizon), so a new model
 * version or a new bar makes a new key and nothing has to be invalidated by hand.
 */
export class PredictionService {
  private readonly now: () => Date;
  /**
   * The `cached: true` answer for each value the memory tier holds, frozen and reused, so a hot prediction is
   * one object whose JSON the serializer keeps (see serializer.ts). Keyed weakly: evicted values go with it.
   */
  private readonly hitAnswers = new WeakMap<Prediction, Prediction>();
  private readonly recentBars = new LRUCache<string, { readonly at: number; readonly bars: Promise<Bar[]> }>({ max: BARS_MEMO_MAX });
  /** Cache key of the last answer per (symbol, horizon): what can still be served when the data source is down. */
  private readonly lastKeys = new LRUCache<string, { readonly key: string; readonly model: string; readonly fallback: boolean }>({ max: FALLBACK_KEYS_MAX });

  constructor(private readonly options: PredictionServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  memoSizes(): MemoSizes {
    return {
      bars: { size: this.recentBars.size, max: this.recentBars.max },
      outage_fallback_keys: { size: this.lastKeys.size, max: this.lastKeys.max },
    };
  }

  /** The symbol's bars, oldest first. No data → 404; the data source failing → 503. */
  bars(symbol: string): Promise<Bar[]> {
    const now = this.now().getTime();
    const recent = this.recentBars.get(symbol);
    if (recent && now - recent.at < BARS_REUSE_MS) return recent.bars;
    const entry = { at: now, bars: this.readBars(symbol) };
    this.recentBars.set(symbol, entry);
    // A failure is not reused: the next request asks the source again.
    entry.bars.catch(() => {
      if (this.recentBars.get(symbol) === entry) this.recentBars.delete(symbol);
    });
    return entry.bars;
  }

  /** Drops the symbol's reused bars, so the next request reads the data source again (e.g. after training on newer bars). */
  forgetBars(symbol: string): void {
    this.recentBars.delete(symbol);
  }

  private async readBars(symbol: string): Promise<Bar[]> {
    try {
      const bars = await this.options.market.getBars(symbol);
      if (bars.length === 0) throw new NotFoundError(`no market data for symbol ${symbol}`, { symbol });
      return bars;
    } catch (error) {
      // Only the client's own mistakes pass through; a failing or untrustworthy source is a 503.
      if (error instanceof AppError && (error.status === 400 || error.status === 404)) throw error;
      const message = errorMessage(error);
      // The source's own estimate (e.g. a full lookup queue drains in seconds) beats a fixed 30 s.
      const retryAfter = error instanceof UnavailableError ? error.retryAfterSeconds : 30;
      throw new UnavailableError(`market data source ${this.options.market.name} is unavailable: ${message}`, retryAfter, { symbol });
    }
  }

  async predict(symbol: string, days: number): Promise<Prediction> {
    const ticket = this.options.admission?.ticket();
    try {
      return await this.counted(symbol, days, ticket);
    } catch (error) {
      if (isOverloaded(error)) this.countShed();
      throw error;
    } finally {
      ticket?.release();
    }
  }

  /** Once per shed request, also when the computation it waited on was shed for another request. */
  private countShed(): void {
    this.options.metrics.requestsShed.inc({ reason: 'queue_wait' });
  }

  private async counted(symbol: string, days: number, ticket: ComputeTicket | undefined): Promise<Prediction> {
    try {
      return await this.run(symbol, days, ticket);
    } catch (error) {
      this.options.metrics.predictionErrors.inc({ reason: errorReason(error) });
      throw error;
    }
  }

  /**
   * One prediction per symbol; a failing symbol becomes an entry of `errors` and never fails the others. The batch
   * takes one admission slot for all its symbols; when it is shed, so is the whole batch (503 + Retry-After), and a
   * client retries it as one.
   */
  async predictMany(
    symbols: readonly string[],
    days: number,
    validate: (raw: string) => string,
    onInternalError: (symbol: string, error: unknown) => void,
  ): Promise<BatchResult> {
    const predictions: (Prediction | undefined)[] = new Array(symbols.length);
    const errors: (BatchResult['errors'][number] | undefined)[] = new Array(symbols.length);
    const ticket = this.options.admission?.ticket();
    let shed: UnavailableError | undefined;
    try {
      // A batch takes its slot before anything else, cached or not: building and serializing up to 50 answers (a
      // 50-symbol 60-day batch is some 650 KB of JSON) costs the event loop tens of milliseconds even from the cache.
      await ticket?.acquire().catch((error: unknown) => {
        if (!isOverloaded(error)) throw error;
        shed = error;
      });
      await forEachLimited(symbols, BATCH_CONCURRENCY, async (raw, index) => {
        if (shed) return;
        try {
          predictions[index] = await this.counted(validate(raw), days, ticket);
        } catch (error) {
          if (isOverloaded(error)) shed = error;
          else if (error instanceof AppError && (error.status < 500 || error instanceof UnavailableError)) {
            errors[index] = { symbol: raw, error: error.message, status: error.status, code: error.code };
          } else {
            onInternalError(raw, error);
            errors[index] = { symbol: raw, error: 'internal error (logged with this request id)', status: 500, code: 'INTERNAL_ERROR' };
          }
        }
      });
    } finally {
      ticket?.release();
    }
    if (shed) {
      this.countShed();
      throw shed;
    }
    return {
      predictions: predictions.filter((p): p is Prediction => p !== undefined),
      errors: errors.filter((e): e is BatchResult['errors'][number] => e !== undefined),
    };
  }

  private hitAnswer(value: Prediction): Prediction {
    let answer = this.hitAnswers.get(value);
    if (answer === undefined) {
      answer = Object.freeze({ ...value, cached: true });
      this.hitAnswers.set(value, answer);
    }
    return answer;
  }

  /** The last answer for (symbol, days) if a cache tier still holds it; used only while the data source is down. */
  private async lastKnown(symbol: string, days: number): Promise<Prediction | undefined> {
    const last = this.lastKeys.get(`${symbol}:${days}`);
    if (!last) return undefined;
    const hit = await this.options.cache.get(last.key);
    if (!hit) return undefined;
    this.count(symbol, last.model, hit.value.model_version, hit.tier, last.fallback);
    return this.hitAnswer(hit.value);
  }

  private count(symbol: string, model: string, version: string, tier: string | undefined, fallback: boolean): void {
    this.options.metrics.predictions.inc({
      symbol: fallback ? 'other' : symbol,
      model,
      model_version: version,
      cache: tier === 'memory' || tier === 'redis' || tier === 'file' ? tier : 'miss',
    });
  }

  private async run(symbol: string, days: number, ticket: ComputeTicket | undefined): Promise<Prediction> {
    const { registry, cache } = this.options;
    let bars: Bar[];
    try {
      bars = await this.bars(symbol);
    } catch (error) {
      // A source outage degrades to the last answer still cached; only with nothing cached is it a 503.
      const fallback = error instanceof UnavailableError ? await this.lastKnown(symbol, days) : undefined;
      if (fallback) return fallback;
      throw error;
    }
    const lease = registry.acquire(symbol);
    if (!lease) throw new UnavailableError('no model is loaded to answer this symbol yet', 10, { symbol }, 'MODEL_UNAVAILABLE');
    try {
      const meta = lease.forecaster.metadata;
      const lastBar = bars[bars.length - 1] as Bar;
      const { bands } = this.options;
      if (bands?.needsStart(meta, symbol, lastBar.date) === true) {
        // a symbol this model never trained on: its bands start from its own history, computed once per version
        // (a few hundred forecasts, so under admission control like any uncached work)
        await ticket?.acquire();
        await bands.begin(meta, symbol, lastBar.date, () => bandStartFromHistory(lease.forecaster, bars));
      }
      // the symbol's live adaptive band state (from outcomes matured after the test split, or its start); else the model's own
      const adaptive = bands?.live(meta, symbol);
      const key = predictionCacheKey({
        symbol,
        // The key of the answering model is part of its version: a symbol's own model and the global one never share entries.
        // So are the live bands (bandsTag).
        modelVersion: `${lease.key}/${meta.version}${bandsTag(adaptive)}`,
        lastBarDate: lastBar.date,
        horizon: days,
      });
      const result = await cache.getOrCompute(
        key,
        async () => {
          // Only a miss waits for (or is shed by) admission control: cached answers stay cheap under any load.
          await ticket?.acquire();
          const stop = this.options.metrics.inferenceDuration.startTimer({ backend: this.options.backend(), inference: lease.forecaster.inference.path });
          let forecast;
          try {
            forecast = await lease.forecaster.forecast(bars, days, adaptive === undefined ? { symbol } : { symbol, adaptive });
          } catch (error) {
            throw forecastFailure(error, symbol);
          }
          const prediction = buildPrediction({
            symbol,
            days,
            forecast,
            metadata: meta,
            fallback: lease.fallback,
            dataSource: this.options.market.name,
            thresholds: this.options.thresholds,
            now: this.now(),
          });
          stop();
          return prediction;
        },
        this.options.ttlSeconds * 1000,
      );
      this.count(symbol, lease.key, meta.version, result.tier, lease.fallback);
      // Usually the same key as last time: then the lookup alone refreshes its recency, with nothing allocated.
      const pair = `${symbol}:${days}`;
      if (this.lastKeys.get(pair)?.key !== key) this.lastKeys.set(pair, { key, model: lease.key, fallback: lease.fallback });
      return result.tier === undefined ? result.value : this.hitAnswer(result.value);
    } finally {
      lease.release();
    }
  }
}
