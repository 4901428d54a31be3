import type { Metrics } from '../observability/metrics.js';
import { horizonBucket, summarize } from '../tracking/scoring.js';
import type { DailyRun, StoredForecast, TrackingStore } from '../tracking/store.js';

/**
 * Refreshes the live-accuracy gauges from the store: every out-of-sample matured forecast, grouped by symbol,
 * horizon bucket and source (live or backfilled). Old series are dropped first, so a symbol that left the store
 * leaves the metrics too.
 */
export async function refreshAccuracyMetrics(store: TrackingStore, metrics: Metrics): Promise<void> {
  const rows = await store.query({ matured: true });
  const groups = new Map<string, { labels: { symbol: string; horizon_bucket: string; source: string }; rows: StoredForecast[] }>();
  for (const row of rows) {
    const labels = { symbol: row.symbol, horizon_bucket: horizonBucket(row.horizon), source: row.backfilled ? 'backfilled' : 'live' };
    const key = `${labels.symbol}|${labels.horizon_bucket}|${labels.source}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { labels, rows: [] }));
    group.rows.push(row);
  }
  for (const gauge of [metrics.trackingMaeRatio, metrics.trackingHitRate, metrics.trackingAlwaysUpHitRate, metrics.trackingMatured]) gauge.reset();
  metrics.trackingCoverage.reset();
  for (const { labels, rows: list } of groups.values()) {
    const f = summarize(list);
    metrics.trackingMatured.set(labels, f.predictions_with_actual);
    if (f.mae_ratio !== null) metrics.trackingMaeRatio.set(labels, f.mae_ratio);
    if (f.hit_rate !== null) metrics.trackingHitRate.set(labels, f.hit_rate);
    if (f.always_up_hit_rate !== null) metrics.trackingAlwaysUpHitRate.set(labels, f.always_up_hit_rate);
    if (f.coverage_80 !== null) metrics.trackingCoverage.set({ ...labels, level: '80' }, f.coverage_80);
    if (f.coverage_95 !== null) metrics.trackingCoverage.set({ ...labels, level: '95' }, f.coverage_95);
  }
}

/** Counts a finished daily run and records its duration and, when it completed, its time. */
export function recordDailyRun(metrics: Metrics, run: DailyRun): void {
  metrics.dailyRuns.inc({ type: run.execution_type, status: run.status });
  if (run.execution_duration_ms !== null) metrics.dailyRunDuration.set({ type: run.execution_type }, Number(run.execution_duration_ms) / 1000);
  if (run.status === 'completed' && run.completed_at) metrics.dailyRunLastSuccess.set(Date.parse(run.completed_at) / 1000);
}
