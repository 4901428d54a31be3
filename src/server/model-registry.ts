import type { Logger } from 'pino';
import type { InferenceInfo } from '../ml/inference/engine.js';
import { GLOBAL_MODEL_KEY, symbolModelKey, type Forecaster, type ModelMetadata } from '../ml/types.js';
import type { Metrics } from '../observability/metrics.js';
import { forEachLimited } from '../async/for-each-limited.js';
import { errorMessage, UnavailableError } from '../errors.js';

/** Where the registry finds model versions (the model store, seen through what serving needs). */
export interface ModelLoader {
  keys(): Promise<string[]>;
  currentVersion(key: string): Promise<string | null>;
  load(key: string, version: string): Promise<Forecaster>;
}

export type ModelLoadStatus = 'ready' | 'failed' | 'loading';

export interface ModelEntry {
  readonly key: string;
  readonly status: ModelLoadStatus;
  /** Metadata of the version being served (undefined until one loaded). */
  readonly metadata: ModelMetadata | undefined;
  /** Which code runs the served version's forward pass (undefined until one loaded). */
  readonly inference: InferenceInfo | undefined;
  /** Why the last load failed; set on a failed model, and on a ready one whose newer version was refused. */
  readonly error: string | undefined;
}

/** A forecaster checked out for one request; `release` must be called exactly once. */
export interface ModelLease {
  readonly key: string;
  readonly forecaster: Forecaster;
  /** True when the symbol has no model of its own and the global model answers. */
  readonly fallback: boolean;
  release(): void;
}

export interface ReloadReport {
  readonly loaded: { key: string; version: string }[];
  readonly unchanged: string[];
  /** `transient`: the load could not run (I/O hiccup, a dependency down); the version is retried, not refused. */
  readonly failed: { key: string; error: string; transient: boolean }[];
}

/** Model loads in flight at once during a scan. */
const LOAD_CONCURRENCY = 8;

/** errno codes that say nothing about a version's files: the same load can succeed a moment later. */
const TRANSIENT_CODES = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EIO', 'ENOMEM', 'ETIMEDOUT', 'EINTR']);

/** "Could not load now" (retried with backoff) as opposed to "this version is broken" (refused until it changes). */
export function isTransientLoadError(error: unknown): boolean {
  if (error instanceof UnavailableError) return true;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

/**
 * A served model version. Requests hold a reference while they use it; a replaced version is disposed
 * only once the last request that started on it has finished, so a reload never pulls tensors from
 * under an in-flight prediction.
 */
class ServedVersion {
  private refs = 0;
  private retired = false;

  constructor(readonly forecaster: Forecaster) {}

  get version(): string {
    return this.forecaster.metadata.version;
  }

  acquire(): void {
    this.refs += 1;
  }

  release(): void {
    this.refs -= 1;
    if (this.retired && this.refs === 0) this.forecaster.dispose();
  }

  retire(): void {
    this.retired = true;
    if (this.refs === 0) this.forecaster.dispose();
  }
}

interface Slot {
  status: ModelLoadStatus;
  served: ServedVersion | undefined;
  error: string | undefined;
  /** A version that failed to load; not retried by the periodic watch until it changes (a forced reload retries). */
  failedVersion: string | undefined;
}

function entryOf(key: string, slot: Slot): ModelEntry {
  const forecaster = slot.served?.forecaster;
  return { key, status: slot.status, metadata: forecaster?.metadata, inference: forecaster?.inference, error: slot.error };
}

export interface ModelRegistryOptions {
  readonly loader: ModelLoader;
  /** One real prediction on a freshly loaded forecaster, before it serves traffic. */
  readonly warmUp: (forecaster: Forecaster) => Promise<void>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Turns a load failure into the message clients see (without server paths); the log keeps the original. */
  readonly publicMessage?: (message: string) => string;
  /** Backoff of the automatic retries after a transient failure: first delay, doubled up to the maximum. */
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
}

/**
 * The loaded models, keyed by model key (lower-case symbol, or "global" as the fallback for symbols without
 * a model of their own). Reloading loads and warms a new version before it replaces the old one; a version
 * that fails to load is reported and never replaces (or takes down) a working one.
 */
export class ModelRegistry {
  private readonly slots = new Map<string, Slot>();
  private queue: Promise<unknown> = Promise.resolve();
  private loadedOnce = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private closed = false;

  constructor(private readonly options: ModelRegistryOptions) {}

  /** True once the first full load (with warm-up) has finished, whatever its outcome. */
  get initialLoadDone(): boolean {
    return this.loadedOnce;
  }

  /**
   * Re-scans the store and swaps in every new current version. Calls are serialized.
   * `force` retries versions that failed before.
   */
  reload(force = false): Promise<ReloadReport> {
    const run = this.queue.then(() => this.scan(force));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Checks out the model that answers for `symbol`: its own, else the global one; undefined when neither is ready. */
  acquire(symbol: string): ModelLease | undefined {
    const own = symbolModelKey(symbol);
    const ownSlot = this.slots.get(own);
    const fallback = ownSlot?.served === undefined;
    const key = fallback ? GLOBAL_MODEL_KEY : own;
    const served = this.slots.get(key)?.served;
    if (!served) return undefined;
    served.acquire();
    let released = false;
    return {
      key,
      forecaster: served.forecaster,
      fallback,
      release: () => {
        if (released) return;
        released = true;
        served.release();
      },
    };
  }

  entries(): ModelEntry[] {
    return [...this.slots.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, slot]) => entryOf(key, slot));
  }

  entry(key: string): ModelEntry | undefined {
    const slot = this.slots.get(key);
    return slot && entryOf(key, slot);
  }

  /** Disposes every served version once its in-flight requests finish. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.queue;
    for (const slot of this.slots.values()) slot.served?.retire();
    this.slots.clear();
    this.publish();
  }

  private async scan(force: boolean): Promise<ReloadReport> {
    const { loader, logger } = this.options;
    const report: ReloadReport = { loaded: [], unchanged: [], failed: [] };
    const keys = await loader.keys();
    for (const gone of [...this.slots.keys()].filter((k) => !keys.includes(k))) {
      logger.warn({ model: gone }, 'model folder disappeared; no longer serving it');
      this.slots.get(gone)?.served?.retire();
      this.slots.delete(gone);
    }
    for (const key of keys) {
      if (!this.slots.has(key)) this.slots.set(key, { status: 'loading', served: undefined, error: undefined, failedVersion: undefined });
    }
    // New models show as "loading" (in /api/v1/models and models_loaded) while they load.
    this.publish();
    // Loads overlap their file reads (a model is a few small files; one at a time, a thousand of them spend most
    // of the boot waiting on I/O); the CPU part of each is short, so a few in flight keep both cores busy.
    await forEachLimited(keys, LOAD_CONCURRENCY, async (key) => {
      const slot = this.slots.get(key) as Slot;
      let version: string | null;
      try {
        version = await loader.currentVersion(key);
        if (version === null) throw new Error('no complete version');
      } catch (error) {
        this.fail(slot, key, undefined, error, report);
        return;
      }
      if (slot.served?.version === version || (!force && slot.failedVersion === version)) {
        report.unchanged.push(key);
        return;
      }
      await this.swapIn(slot, key, version, report);
    });
    this.loadedOnce = true;
    this.publish();
    this.scheduleRetry(report);
    // Loads finish in any order; the report lists keys sorted so a caller sees the same answer for the same models.
    report.loaded.sort();
    report.unchanged.sort();
    report.failed.sort((a, b) => a.key.localeCompare(b.key));
    return report;
  }

  /**
   * After a transient failure, scans again by itself with exponential backoff (independent of the periodic
   * watch, which may be off), so the service heals within seconds of the cause going away.
   */
  private scheduleRetry(report: ReloadReport): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!report.failed.some((f) => f.transient)) {
      this.retryAttempt = 0;
      return;
    }
    if (this.closed) return;
    const { initialMs, maxMs } = this.options.retry ?? { initialMs: 1000, maxMs: 30_000 };
    const delay = Math.min(maxMs, initialMs * 2 ** this.retryAttempt);
    this.retryAttempt += 1;
    this.options.logger.warn({ retry_in_ms: delay, models: report.failed.filter((f) => f.transient).map((f) => f.key) }, 'models could not be loaded for now; retrying');
    this.retryTimer = setTimeout(() => {
      this.reload().catch((error: unknown) => this.options.logger.error({ err: error }, 'model retry failed'));
    }, delay);
    this.retryTimer.unref();
  }

  private async swapIn(slot: Slot, key: string, version: string, report: ReloadReport): Promise<void> {
    const { loader, warmUp, metrics, logger } = this.options;
    const stopTimer = metrics.modelLoadDuration.startTimer();
    let forecaster: Forecaster | undefined;
    try {
      forecaster = await loader.load(key, version);
      await warmUp(forecaster);
    } catch (error) {
      forecaster?.dispose();
      this.fail(slot, key, version, error, report);
      return;
    }
    const seconds = stopTimer();
    const previous = slot.served;
    slot.served = new ServedVersion(forecaster);
    slot.status = 'ready';
    slot.error = undefined;
    slot.failedVersion = undefined;
    previous?.retire();
    report.loaded.push({ key, version });
    logger.info({ model: key, version, previous: previous?.version, load_seconds: Number(seconds.toFixed(3)) }, 'model version loaded and warmed');
  }

  private fail(slot: Slot, key: string, version: string | undefined, error: unknown, report: ReloadReport): void {
    const message = (this.options.publicMessage ?? String)(errorMessage(error));
    const transient = isTransientLoadError(error);
    slot.error = `${version ? `version ${version}: ` : ''}${message}${transient ? ' (retrying)' : ''}`;
    // Only a broken version is remembered as refused; a transient failure is tried again.
    slot.failedVersion = transient ? undefined : version;
    // A working version keeps serving; only a model with nothing to serve is "failed".
    slot.status = slot.served ? 'ready' : 'failed';
    report.failed.push({ key, error: slot.error, transient });
    this.options.logger.error({ model: key, version, err: error, transient }, 'model failed to load');
  }

  /** Mirrors the served versions into the model gauges of the metric catalog. */
  private publish(): void {
    const { metrics } = this.options;
    for (const gauge of [
      metrics.modelInfo,
      metrics.modelTrained,
      metrics.modelMaeRatio,
      metrics.modelHitRate,
      metrics.modelAlwaysUpHitRate,
      metrics.modelCoverage80,
      metrics.modelBeatsNaive,
    ]) {
      gauge.reset();
    }
    const counts: Record<ModelLoadStatus, number> = { ready: 0, failed: 0, loading: 0 };
    for (const [key, slot] of this.slots) {
      counts[slot.status] += 1;
      const forecaster = slot.served?.forecaster;
      if (!forecaster) continue;
      const meta = forecaster.metadata;
      const model = { model: key };
      metrics.modelInfo.set({ model: key, version: meta.version, backend: meta.backend, inference: forecaster.inference.path }, 1);
      metrics.modelTrained.set(model, Date.parse(meta.trained_at) / 1000);
      metrics.modelMaeRatio.set(model, meta.evaluation.mae_ratio);
      metrics.modelHitRate.set(model, meta.evaluation.hit_rate);
      metrics.modelAlwaysUpHitRate.set(model, meta.evaluation.always_up_hit_rate);
      metrics.modelCoverage80.set(model, meta.evaluation.interval_coverage_80);
      metrics.modelBeatsNaive.set(model, meta.beats_naive ? 1 : 0);
    }
    for (const status of Object.keys(counts) as ModelLoadStatus[]) metrics.modelsLoaded.set({ status }, counts[status]);
  }
}
