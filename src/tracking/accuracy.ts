import { horizonBucket, summarize, type AccuracyFigures } from './scoring.js';
import type { StoredForecast } from './store.js';

export type GroupBy = 'symbol' | 'date' | 'horizon' | 'model';

export interface AccuracyGroup extends AccuracyFigures {
  /** The group's value: a symbol, an issue date, a horizon bucket ("1", "2-5", "6-20", "21-60") or model key/version. */
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
