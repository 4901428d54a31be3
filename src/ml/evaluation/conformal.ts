import type { IntervalCalibration } from '../types.js';

/**
 * Split-conformal quantile of absolute residuals: the ceil((n + 1)(1 - alpha))-th smallest, the
 * finite-sample correction that guarantees >= 1 - alpha coverage on exchangeable data.
 * With too few residuals for that rank the largest one is used (the interval cannot be wider than
 * the evidence; coverage is then measured, not promised).
 */
export function conformalQuantile(absoluteResiduals: readonly number[], coverage: number): number {
  if (absoluteResiduals.length === 0) throw new RangeError('no residuals to calibrate on');
  if (!(coverage > 0 && coverage < 1)) throw new RangeError(`coverage must be in (0, 1), got ${coverage}`);
  const sorted = [...absoluteResiduals].sort((a, b) => a - b);
  const rank = Math.ceil((sorted.length + 1) * coverage);
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/**
 * Quantiles per horizon step of held-out (validation) absolute residuals divided by the 20-day
 * volatility on the forecast day: the normalized split-conformal score, whose guarantee holds like
 * the plain one while the band follows the market's current turbulence.
 * `actual[i][h]` may be NaN where that step's day is unavailable; such cells are skipped.
 */
export function calibrateIntervals(
  actual: readonly (readonly number[])[],
  predicted: readonly (readonly number[])[],
  volatility: readonly number[],
): IntervalCalibration {
  const horizon = predicted[0]?.length ?? 0;
  const q80: number[] = [];
  const q95: number[] = [];
  for (let h = 0; h < horizon; h += 1) {
    const scores: number[] = [];
    actual.forEach((row, i) => {
      const a = row[h] as number;
      if (!Number.isNaN(a)) scores.push(Math.abs(a - ((predicted[i] as readonly number[])[h] as number)) / (volatility[i] as number));
    });
    q80.push(conformalQuantile(scores, 0.8));
    q95.push(conformalQuantile(scores, 0.95));
  }
  return { q80, q95, scaled_by: 'volatility_20' };
}

/** Interval half-widths in log-return units for a forecast made on a day with this 20-day volatility. */
export function intervalHalfWidths(intervals: IntervalCalibration, volatility: number): { w80: number[]; w95: number[] } {
  const factor = intervals.scaled_by === 'volatility_20' ? volatility : 1;
  return { w80: intervals.q80.map((q) => q * factor), w95: intervals.q95.map((q) => q * factor) };
}

/**
 * Share of available (actual, predicted) cells whose actual lies within predicted ± halfWidths[i][h],
 * pooled over all steps (each row may come from a differently calibrated model, as in a backtest).
 */
export function intervalCoverage(
  actual: readonly (readonly number[])[],
  predicted: readonly (readonly number[])[],
  halfWidths: readonly (readonly number[])[],
): number {
  let inside = 0;
  let total = 0;
  actual.forEach((row, i) => {
    row.forEach((a, h) => {
      if (Number.isNaN(a)) return;
      total += 1;
      if (Math.abs(a - ((predicted[i] as readonly number[])[h] as number)) <= ((halfWidths[i] as readonly number[])[h] as number)) inside += 1;
    });
  });
  if (total === 0) throw new RangeError('no values to measure coverage on');
  return inside / total;
}
