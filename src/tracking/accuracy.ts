import { horizonBucket, summarize, type AccuracyFigures } from './scoring.js';
import type { StoredForecast, TrackingStore } from './store.js';

export type GroupBy = 'symbol' | 'date' | 'horizon' | 'model' | 'source';

export interface AccuracyGroup extends AccuracyFigures {
  /** The group's value: a symbol, a target date, a horizon bucket ("1", "2-5", "6-20", "21-60"), model key/version, or "live"/"backfilled". */
  readonly group: string;
}

function groupKey(row: StoredForecast, by: GroupBy): string {
  switch (by) {
    case 'symbol':
      return row.symbol;
    case 'date':
      return row.target_date;
    case 'horizon':
      return horizonBucket(row.horizon);
    case 'model':
      return `${row.model_key}/${row.model_version}`;
    case 'source':
      return row.backfilled ? 'backfilled' : 'live';
  }
}

/** Accuracy figures per group, groups sorted by their value. */
export function accuracyBy(rows: readonly StoredForecast[], by: GroupBy): AccuracyGroup[] {
  const groups = new Map<string, StoredForecast[]>();
  for (const row of rows) {
    const key = groupKey(row, by);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(row);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([group, list]) => ({ group, ...summarize(list) }));
}

/** A model version's live record for one symbol: its matured, not backfilled forecasts (what the skill trigger reads). */
export async function liveAccuracy(store: TrackingStore, symbol: string, modelVersion: string): Promise<{ matured: number; maeRatio: number | null }> {
  const rows = (await store.query({ symbols: [symbol], matured: true })).filter((r) => !r.backfilled && r.model_version === modelVersion);
  const figures = summarize(rows);
  return { matured: figures.predictions_with_actual, maeRatio: figures.mae_ratio };
}
