import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the service exports: this file is the catalog, the contract with the Prometheus alert rules
 * and the Grafana dashboards (test/server/routes.test.ts pins the names; test/ops/prometheus.test.ts checks
 * every rule's query against a real Prometheus scraping the service). One Registry per app instance, so two apps in one process
 * (tests, the benchmark) never share or double-register series.
 */
export type PredictionErrorReason = 'not_found' | 'validation' | 'unavailable' | 'overloaded' | 'internal';
/** Why load shedding answered a request with 503 OVERLOADED: a prediction slot waited for too long, or under-pressure's checks. */
export const SHED_REASONS = ['queue_wait', 'event_loop_delay', 'heap'] as const;
export type ShedReason = (typeof SHED_REASONS)[number];

const HTTP_LABELS = ['method', 'route', 'status_code'] as const;
const TRACKING_LABELS = ['symbol', 'horizon_bucket', 'source'] as const;
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  /** Observed once per request by the metrics plugin; http_requests_total is derived from it. */
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: HTTP_LABELS,
    buckets: LATENCY_BUCKETS,
    registers,
  });

  const requestsShed = new Counter({
    name: 'requests_shed_total',
    help: `Requests answered 503 OVERLOADED by load shedding, by reason (${SHED_REASONS.join(', ')})`,
    labelNames: ['reason'] as const,
    registers,
  });
  // Every reason exported from the start at 0, so a rate over it (dashboard, alert) is 0 rather than "no data" until the first shed.
  for (const reason of SHED_REASONS) requestsShed.inc({ reason }, 0);

  const dailyRuns = new Counter({
    name: 'daily_prediction_runs_total',
    help: 'Daily prediction runs by execution type (scheduled, manual) and outcome (completed, failed, skipped)',
    labelNames: ['type', 'status'] as const,
    registers,
  });
  // From 0 as well: increase() needs a sample before the first failure, or the alert on it misses that failure.
  for (const type of ['scheduled', 'manual']) for (const status of ['completed', 'failed', 'skipped']) dailyRuns.inc({ type, status }, 0);

  return {
    registry,
    httpDuration,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route template and status code',
      labelNames: HTTP_LABELS,
      registers,
      // The histogram already counts every request per label set (its _count): the counter is read from it at
      // scrape time, so a request pays one metric update instead of two.
      async collect() {
        this.reset();
        for (const value of (await httpDuration.get()).values) {
          if (value.metricName === 'http_request_duration_seconds_count') this.inc(value.labels, value.value);
        }
      },
    }),
    predictions: new Counter({
      name: 'predictions_total',
      help: 'Predictions served, by symbol (or other), model key, model version and the cache tier that answered (miss = computed)',
      labelNames: ['symbol', 'model', 'model_version', 'cache'] as const,
      registers,
    }),
    predictionErrors: new Counter({
      name: 'prediction_errors_total',
      help: 'Failed predictions by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    requestsShed,
    inferenceDuration: new Histogram({
      name: 'inference_duration_seconds',
      help: 'Features, forward pass and post-processing of an uncached prediction, by tfjs backend and inference path (fused or tfjs)',
      labelNames: ['backend', 'inference'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    cacheHits: new Counter({ name: 'cache_hits_total', help: 'Prediction cache hits by tier', labelNames: ['tier'] as const, registers }),
    cacheMisses: new Counter({ name: 'cache_misses_total', help: 'Prediction cache misses by tier', labelNames: ['tier'] as const, registers }),
    cacheEntries: new Gauge({
      name: 'cache_entries',
      help: 'Current prediction cache entries per tier (redis: keys under our prefix, best effort)',
      labelNames: ['tier'] as const,
      registers,
    }),
    dataSourceFetches: new Counter({
      name: 'data_source_fetches_total',
      help: 'Market data fetches by source and result',
      labelNames: ['source', 'result'] as const,
      registers,
    }),
    dataSourceDuration: new Histogram({
      name: 'data_source_fetch_duration_seconds',
      help: 'Market data fetch duration by source',
      labelNames: ['source'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    modelLoadDuration: new Histogram({
      name: 'model_load_duration_seconds',
      help: 'Load plus warm-up of one model version',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    modelsLoaded: new Gauge({ name: 'models_loaded', help: 'Models by load status', labelNames: ['status'] as const, registers }),
    modelInfo: new Gauge({
      name: 'model_info',
      help: 'Currently served model version (value 1), with the tfjs backend and the inference path (fused or tfjs)',
      labelNames: ['model', 'version', 'backend', 'inference'] as const,
      registers,
    }),
    modelTrained: new Gauge({
      name: 'model_trained_timestamp_seconds',
      help: 'Unix time the served version of a model was trained',
      labelNames: ['model'] as const,
      registers,
    }),
    modelMaeRatio: new Gauge({ name: 'model_mae_ratio', help: 'Test-split MAE / naive MAE of the served version', labelNames: ['model'] as const, registers }),
    modelHitRate: new Gauge({ name: 'model_hit_rate', help: "Test-split next-day direction hit rate of the served forecast (the side its probability of an up day favours)", labelNames: ['model'] as const, registers }),
    modelAlwaysUpHitRate: new Gauge({
      name: 'model_always_up_hit_rate',
      help: 'Always-up baseline hit rate on the same test days',
      labelNames: ['model'] as const,
      registers,
    }),
    modelCoverage80: new Gauge({
      name: 'model_interval_coverage_80',
      help: 'Test-split coverage of the 80% prediction interval',
      labelNames: ['model'] as const,
      registers,
    }),
    modelBeatsNaive: new Gauge({ name: 'model_beats_naive', help: '1 when the served version beats the naive forecast on its test split', labelNames: ['model'] as const, registers }),
    redisUp: new Gauge({ name: 'redis_up', help: '1 when Redis is configured and answered PING within 500 ms at this scrape, else 0', registers }),
    redisConfigured: new Gauge({ name: 'redis_configured', help: '1 when REDIS_URL is set', registers }),
    rateLimitLocalFallbacks: new Counter({
      name: 'rate_limit_local_fallbacks_total',
      help: 'Requests counted by the per-process rate limit because Redis (the shared budget) did not answer',
      registers,
    }),
    trainingJobs: new Gauge({ name: 'training_jobs', help: 'Training jobs by status (current counts)', labelNames: ['status'] as const, registers }),
    storageBytes: new Gauge({ name: 'storage_bytes', help: 'Bytes per top-level persistent_data directory', labelNames: ['directory'] as const, registers }),
    storageFiles: new Gauge({ name: 'storage_files', help: 'Files per top-level persistent_data directory', labelNames: ['directory'] as const, registers }),
    logLinesDropped: new Counter({
      name: 'log_lines_dropped_total',
      help: 'Lines the application log file could not take (full disk, I/O error); stdout still got them',
      registers,
    }),
    lastBackup: new Gauge({ name: 'last_backup_timestamp_seconds', help: 'mtime of the newest backup archive (stock_prediction_backup_*.tar.gz) in BACKUP_PATH, default persistent_data/backups (0 if none)', registers }),
    trackingMaeRatio: new Gauge({
      name: 'tracking_mae_ratio',
      help: 'Tracked (out-of-sample) forecasts: MAE / naive MAE on the same matured rows, by symbol, horizon bucket and source (live or backfilled)',
      labelNames: TRACKING_LABELS,
      registers,
    }),
    trackingHitRate: new Gauge({
      name: 'tracking_hit_rate',
      help: 'Tracked forecasts: share of matured rows with the right direction',
      labelNames: TRACKING_LABELS,
      registers,
    }),
    trackingAlwaysUpHitRate: new Gauge({
      name: 'tracking_always_up_hit_rate',
      help: 'Tracked forecasts: what "always up" scores on the same matured rows',
      labelNames: TRACKING_LABELS,
      registers,
    }),
    trackingCoverage: new Gauge({
      name: 'tracking_interval_coverage',
      help: 'Tracked forecasts: share of matured rows whose close fell inside the band, by level (80 or 95)',
      labelNames: [...TRACKING_LABELS, 'level'] as const,
      registers,
    }),
    trackingMatured: new Gauge({
      name: 'tracking_matured_forecasts',
      help: 'Tracked forecasts whose target day has closed and been scored',
      labelNames: TRACKING_LABELS,
      registers,
    }),
    dailyRuns,
    dailyRunDuration: new Gauge({
      name: 'daily_prediction_run_duration_seconds',
      help: 'Duration of the last daily prediction run, by execution type',
      labelNames: ['type'] as const,
      registers,
    }),
    dailyRunLastSuccess: new Gauge({
      name: 'daily_prediction_last_success_timestamp_seconds',
      help: 'Unix time the last daily run (scheduled or manual) completed; start-up time when none has yet',
      registers,
    }),
    dailyRunEnabled: new Gauge({ name: 'daily_prediction_enabled', help: '1 when DAILY_PREDICTION_ENABLED schedules the daily run', registers }),
    appInfo: new Gauge({ name: 'app_info', help: 'Service version and tfjs backend (value 1)', labelNames: ['version', 'backend'] as const, registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
