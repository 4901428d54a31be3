import type { ModelMetadata } from '../../ml/types.js';
import { num, pct, table } from './table.js';

/** The test-split scores of each model beside the naive forecast and the always-up hit rate, on the same days. */
export function metricsTable(models: readonly ModelMetadata[]): string {
  const rows = models.map((m) => {
    const e = m.evaluation;
    return [
      m.key, m.version, `${e.test_from}..${e.test_to}`, String(e.test_days),
      num(e.mae), num(e.naive_mae), num(e.mae_ratio, 3), num(e.naive_dm_p_value, 3),
      pct(e.hit_rate), pct(e.always_up_hit_rate), pct(e.interval_coverage_80),
      m.beats_naive ? 'yes' : 'NO',
    ];
  });
  return table(['model', 'version', 'test split', 'days', 'mae', 'naive_mae', 'mae_ratio', 'dm_p', 'hit_rate', 'always_up', 'coverage_80', 'beats_naive'], rows);
}

/** One plain sentence per model about whether it is worth more than repeating the last close. */
export function verdict(m: ModelMetadata): string {
  const e = m.evaluation;
  const scores = `MAE ${num(e.mae)} vs naive ${num(e.naive_mae)}, ratio ${num(e.mae_ratio, 3)}, Diebold-Mariano p ${num(e.naive_dm_p_value, 3)}`;
  if (m.beats_naive) return `${m.key}: beats the naive last-close forecast on its test split (${scores}).`;
  const why = e.mae_ratio < 1 ? 'its MAE is lower, but not significantly (p >= 0.05)' : 'its MAE is not lower';
  return `${m.key}: does NOT beat the naive last-close forecast on its test split: ${why} (${scores}); its forecasts are no better than repeating the last close.`;
}
