import type { AdaptiveIntervalState, IntervalCalibration } from '../types.js';

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
 * Quantiles per horizon step of held-out (validation) absolute residuals divided by the forecast
 * standard deviation of that step (`scale[i][h]`, from the volatility model on the forecast day): the
 * normalized split-conformal score, whose guarantee holds like the plain one while the band follows
 * the volatility regime. `actual[i][h]` may be NaN where that step's day is unavailable; such cells are
 * skipped. With `poolSteps` every step gets the quantile of all steps' scores together.
 */
export function calibrateIntervals(
  actual: readonly (readonly number[])[],
  predicted: readonly (readonly number[])[],
  scale: readonly (readonly number[])[],
  poolSteps = false,
): IntervalCalibration {
  const horizon = predicted[0]?.length ?? 0;
  const scoresAt = (h: number): number[] => {
    const scores: number[] = [];
    actual.forEach((row, i) => {
      const a = row[h] as number;
      if (!Number.isNaN(a)) scores.push(Math.abs(a - ((predicted[i] as readonly number[])[h] as number)) / ((scale[i] as readonly number[])[h] as number));
    });
    return scores;
  };
  const steps = Array.from({ length: horizon }, (_, h) => h);
  if (poolSteps) {
    // one quantile per level from every step's normalised residuals: a volatility model that scales
    // right makes them alike across steps, and pooling gives the long steps the short steps' evidence
    const pooled = steps.flatMap(scoresAt);
    return { q80: steps.map(() => conformalQuantile(pooled, 0.8)), q95: steps.map(() => conformalQuantile(pooled, 0.95)), scaled_by: 'volatility_forecast' };
  }
  const perStep = steps.map(scoresAt);
  return { q80: perStep.map((s) => conformalQuantile(s, 0.8)), q95: perStep.map((s) => conformalQuantile(s, 0.95)), scaled_by: 'volatility_forecast' };
}

/**
 * Band half-widths in log-return units per step: the conformal quantile × the step's forecast standard
 * deviation × the adaptive multiplier from matured outcomes (1 without an adaptive state).
 */
export function intervalHalfWidths(
  intervals: IntervalCalibration,
  scale: readonly number[],
  adaptive?: AdaptiveIntervalState,
): { w80: number[]; w95: number[] } {
  const multiplier = (logs: readonly number[] | undefined, h: number): number => Math.exp(logs?.[h] ?? 0);
  return {
    w80: scale.map((s, h) => (intervals.q80[h] as number) * s * multiplier(adaptive?.log_scale_80, h)),
    w95: scale.map((s, h) => (intervals.q95[h] as number) * s * multiplier(adaptive?.log_scale_95, h)),
  };
}
