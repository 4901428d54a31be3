import { AdaptiveBands } from '../ml/adaptive-bands.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DIR_MODE } from '../fs/atomic-file.js';
import type { Logger } from 'pino';
import { FileCacheTier } from '../cache/file-tier.js';
import { MemoryCacheTier } from '../cache/memory-tier.js';
import type { RedisCacheTier } from '../cache/redis-tier.js';
import type { CacheTier } from '../cache/tier.js';
import { TieredCache } from '../cache/tiered-cache.js';
import type { AppConfig } from '../config/env.js';
import { layoutDirectories } from '../config/layout.js';
import { marketDataConfig } from '../config/market-data.js';
import { packageRoot } from '../config/package-root.js';
import { CsvMarketData } from '../market/csv.js';
import { createMarketDataProvider } from '../market/factory.js';
import type { FetchEvent } from '../market/observer.js';
import type { MarketDataProvider } from '../market/provider.js';
import { seedHistorical } from '../market/seed.js';
import { syntheticWindow } from '../ml/synthetic-window.js';
import { symbolOfModelKey, type Forecaster } from '../ml/types.js';
import { ModelStore } from '../model-store/store.js';
import type { LogFileState } from '../observability/guarded-destination.js';
import { redactLine } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ModelRegistry, type ModelLoader } from './model-registry.js';
import type { Prediction } from './prediction-body.js';
import { ComputeAdmission } from './compute-admission.js';
import { PredictionService } from './prediction-service.js';
import { serverPathRedactor } from './public-message.js';
import { TrainingJobs, type TrainRunner } from './training-jobs.js';
import type { TrainingJobQueue } from '../jobs/training-job.js';

/**
 * How long a prediction waits in memory before its cache file is written, batched with the others set meanwhile: the
 * file writes (four file-system calls each) then run after the answer instead of beside the next request.
 */
const PREDICTION_FILE_WRITE_BEHIND_MS = 100;

/** Everything the routes use, built from the configuration (the service's composition root). */
export interface Services {
  readonly config: AppConfig;
  readonly version: string;
  /** The tfjs backend, or `none` while no model has needed tfjs (all run on the fused pass). */
  readonly backend: () => string;
  /** A message as clients may read it: without the server's absolute paths (see serverPathRedactor). */
  readonly publicMessage: (message: string) => string;
  readonly startedAt: Date;
  readonly metrics: Metrics;
  readonly store: ModelStore;
  readonly market: MarketDataProvider;
  readonly cache: TieredCache<Prediction>;
  readonly registry: ModelRegistry;
  readonly predictions: PredictionService;
  /** Admission control on prediction work: uncached predictions and batches (the queue-wait part of load shedding). */
  readonly admission: ComputeAdmission;
  /** In-process worker threads without Redis; the BullMQ queue (run by ROLE=worker processes) with REDIS_URL. */
  readonly jobs: TrainingJobQueue;
  /** The served bands' adaptive state, moved by matured outcomes from the tracking store. */
  readonly adaptiveBands: AdaptiveBands;
  /** The data source's last real outcome, cache hits aside (health reports it without calling the source). */
  readonly lastFetch: () => FetchEvent | undefined;
  /** PING to the Redis tier with a deadline (round trip in ms); undefined without REDIS_URL. */
  readonly pingRedis: ((timeoutMs: number) => Promise<number>) | undefined;
  /** The application log file's state (dropped lines on a full disk); undefined when it is not written. */
  readonly logFile: () => LogFileState | undefined;
  /** Calls `listener` with a symbol whenever a refresh from the remote source (Yahoo) stored new bars for it. */
  readonly onNewBars: (listener: (symbol: string) => void) => void;
  close(): Promise<void>;
}

export interface ServiceOptions {
  readonly config: AppConfig;
  readonly version: string;
  /** The tfjs backend as it is now (see Services.backend). */
  readonly backend: () => string;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly logFile?: () => LogFileState | undefined;
  readonly trainRunner: TrainRunner;
  /** Shipped pretrained models copied into an empty ml_models/ (default `<package>/models`). */
  readonly shippedModelsDir?: string;
  /** Shipped sample CSVs copied into an empty stock_data/historical/ (default `<package>/data/sample`). */
  readonly sampleDataDir?: string;
  /** Replaces the configured market data provider (tests of failing sources). */
  readonly market?: MarketDataProvider;
}

/** The Redis-backed parts of the service, loaded on demand (REDIS_URL). */
async function loadScaleOut() {
  const [{ RedisCacheTier }, { QueuedTrainingJobs }, { subscribeModels }] = await Promise.all([
    import('../cache/redis-tier.js'),
    import('../jobs/queued-training-jobs.js'),
    import('../jobs/model-channel.js'),
  ]);
  return { RedisCacheTier, QueuedTrainingJobs, subscribeModels };
}

/** Creates the persistent_data tree (idempotent; never world-writable). */
export async function ensureLayout(config: AppConfig): Promise<void> {
  for (const dir of layoutDirectories(config.layout)) await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
}

export async function createServices(options: ServiceOptions): Promise<Services> {
  const { config, metrics, logger } = options;
  const { layout } = config;
  let lastFetch: FetchEvent | undefined;
  const newBarsListeners: ((symbol: string) => void)[] = [];

  const market =
    options.market ??
    createMarketDataProvider({
      ...marketDataConfig(config),
      onFetch: (event) => {
        // Health follows the source's last real outcome: an answer from a cache says nothing about the source,
        // and a stale one means the source just failed.
        if (!event.cached || event.stale === true) lastFetch = event;
        metrics.dataSourceFetches.inc({ source: event.source, result: !event.ok ? 'error' : event.cached ? 'cached' : 'ok' });
        metrics.dataSourceDuration.observe({ source: event.source }, event.durationMs / 1000);
      },
      onRefresh: (event) => {
        if (event.ok) {
          if (event.added > 0 || event.updated > 0 || event.rescaled) logger.info(event, 'stored history refreshed');
          if (event.added > 0) for (const listener of newBarsListeners) listener(event.symbol);
        } else {
          logger.warn({ symbol: event.symbol, priority: event.priority, err: event.error }, 'market data refresh failed; serving stored bars where there are any');
        }
      },
    });

  const tiers: CacheTier<Prediction>[] = [new MemoryCacheTier<Prediction>({ maxEntries: config.memoryCacheMax, ttlSeconds: config.predictionTtlSeconds })];
  metrics.redisConfigured.set(config.redisUrl ? 1 : 0);
  metrics.redisUp.set(0);
  let redis: RedisCacheTier<Prediction> | undefined;
  // Redis, BullMQ and their clients are imported only with REDIS_URL: a single process without it starts sooner and smaller.
  const scaleOut = config.redisUrl ? { redisUrl: config.redisUrl, ...(await loadScaleOut()) } : undefined;
  if (scaleOut) {
    const where = redactLine(scaleOut.redisUrl);
    redis = new scaleOut.RedisCacheTier<Prediction>({
      url: scaleOut.redisUrl,
      ttlSeconds: config.predictionTtlSeconds,
      onError: (error) => logger.debug({ err: error, redis: where }, 'redis error'),
      onStatusChange: (status) => {
        // redis_up itself follows PING at each scrape (the metrics plugin), not the connection state.
        if (status.up) logger.info({ redis: where }, 'redis connected');
        else logger.warn({ redis: where, detail: status.detail }, 'redis unavailable; answering from the other cache tiers');
      },
    });
    tiers.push(redis);
  }
  tiers.push(
    new FileCacheTier<Prediction>({
      directory: layout.mlCache,
      ttlSeconds: config.predictionTtlSeconds,
      maxEntries: Math.max(config.memoryCacheMax, 1000) * 10,
      // The memory tier answers meanwhile; files are written in batches between requests, and close() waits for them.
      writeBehindMs: PREDICTION_FILE_WRITE_BEHIND_MS,
      onError: (error) => logger.warn({ err: error }, 'file cache error'),
    }),
  );
  const cache = new TieredCache<Prediction>({
    tiers,
    onLookup: ({ tier, hit }) => (hit ? metrics.cacheHits : metrics.cacheMisses).inc({ tier }),
  });

  const store = new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers, keepVersions: config.modelKeepVersions });
  const loader: ModelLoader = {
    keys: () => store.keys(),
    currentVersion: (key) => store.currentVersion(key),
    load: (key, version) => store.loadForecaster(key, version, config.inference),
  };

  /**
   * One real forecast before a version serves: the first request must not pay for kernel compilation, and a
   * version that cannot compute is refused. It runs on stored bars (stock_data/historical) of one of the model's
   * symbols, else on a synthetic window: never on the data source, so a source that is down or slow can neither
   * delay readiness nor make a sound version look broken.
   */
  const storedBars = new CsvMarketData({ directory: layout.historical });
  const warmUp = async (forecaster: Forecaster): Promise<void> => {
    const meta = forecaster.metadata;
    const own = symbolOfModelKey(meta.key);
    const candidates = own === null ? [...meta.symbols] : [own, ...meta.symbols];
    for (const symbol of candidates) {
      const bars = await storedBars.getBars(symbol).catch(() => undefined);
      if (bars && bars.length >= forecaster.requiredBars) {
        await forecaster.forecast(bars, 1);
        return;
      }
    }
    await forecaster.forecast(syntheticWindow(forecaster.requiredBars), 1);
  };

  const publicMessage = serverPathRedactor(config.layout);
  const registry = new ModelRegistry({ loader, warmUp, metrics, logger, publicMessage });
  const adaptiveBands = new AdaptiveBands(layout.adaptiveBands, (error, context) =>
    logger.warn({ err: error, ...context }, context.stage === 'start' ? 'band start from own history failed; serving the bands as calibrated' : 'band start not saved; kept in memory'),
  );
  const { loadShedding } = config;
  const admission = new ComputeAdmission({
    slots: loadShedding.computeSlots,
    maxQueueWaitMs: loadShedding.maxQueueWaitMs,
    retryAfterSeconds: loadShedding.retryAfterSeconds,
  });
  const predictions = new PredictionService({
    admission,
    registry,
    bands: adaptiveBands,
    market,
    cache,
    metrics,
    thresholds: { buy: config.buyThreshold, sell: config.sellThreshold },
    ttlSeconds: config.predictionTtlSeconds,
    backend: options.backend,
  });
  /** A new version is loaded, warmed and served; the bars memo of its symbols goes (the job read newer bars). */
  const serveNewVersion = async (symbols: readonly string[]): Promise<void> => {
    for (const symbol of symbols) predictions.forgetBars(symbol);
    await registry.reload();
  };
  const jobs: TrainingJobQueue = scaleOut
    ? new scaleOut.QueuedTrainingJobs({ redisUrl: scaleOut.redisUrl, settings: config.jobs, metrics, logger })
    : new TrainingJobs({ run: options.trainRunner, market, onTrained: (metadata) => serveNewVersion(metadata.symbols), metrics, logger });
  // A worker announces each version it saved: every replica serves it within moments, not at its next model watch.
  const modelChannel = scaleOut
    ? scaleOut.subscribeModels(scaleOut.redisUrl, logger, (published) => {
        logger.info({ model: published.key, version: published.version }, 'model version published; reloading');
        serveNewVersion(published.symbols).catch((error: unknown) => logger.error({ err: error, model: published.key }, 'reload after a model publication failed'));
      })
    : undefined;

  return {
    config,
    version: options.version,
    backend: options.backend,
    publicMessage,
    startedAt: new Date(),
    metrics,
    store,
    market,
    cache,
    registry,
    predictions,
    admission,
    adaptiveBands,
    jobs,
    lastFetch: () => lastFetch,
    pingRedis: redis?.ping.bind(redis),
    logFile: options.logFile ?? (() => undefined),
    onNewBars: (listener) => {
      newBarsListeners.push(listener);
    },
    close: async () => {
      await jobs.close();
      await modelChannel?.close();
      await registry.close();
      await cache.close();
    },
  };
}

/**
 * First start on an empty persistent_data: copy the shipped sample prices and pretrained models in.
 * Never overwrites operator data (both seeders do nothing when their target already has content).
 */
export type SeedSources = Pick<ServiceOptions, 'shippedModelsDir' | 'sampleDataDir'>;

export async function seedPersistentData(services: Services, options: SeedSources, logger: Pick<Logger, 'info'>): Promise<void> {
  const { layout } = services.config;
  const sampleDir = options.sampleDataDir ?? path.join(packageRoot, 'data', 'sample');
  const shippedDir = options.shippedModelsDir ?? path.join(packageRoot, 'models');
  const data = await seedHistorical({ historicalDir: layout.historical, sampleDir });
  if (data.seeded) logger.info({ files: data.files.length, from: sampleDir }, 'seeded historical prices from the shipped samples');
  if ((await services.store.keys()).length === 0) {
    const shippedExists = await fs.stat(shippedDir).then((s) => s.isDirectory()).catch(() => false);
    if (shippedExists) {
      const report = await services.store.seedFrom(shippedDir);
      logger.info({ seeded: report.seeded.length, refused: report.refused, from: shippedDir }, 'seeded models from the shipped models');
    }
  }
}
