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
 * Independent outcomes at which a step's own quantile and the pooled one weigh equally (shrunkQuantiles).
 * Fixed a priori, not fitted: a 95 % quantile is set by the outcomes beyond it, and it takes about ten of
 * them (10 / 0.05 = 200 independent outcomes) before one more or fewer stops moving it by a visible
 * share (its tail count's relative error is then about 1 / √10). The same k serves the 80 % level, whose
 * quantile is steadier, so there it errs toward pooling.
 */
export const SHRINKAGE_OUTCOMES = 200;

/**
 * Per-step quantiles shrunk toward a pooled one by each step's effective sample: q_h = w_h·q_h +
 * (1 − w_h)·pooled with w_h = n_eff / (n_eff + k), n_eff = n_h / h. Outcomes h steps ahead of
 * consecutive days overlap in h − 1 of their h days, so n_h of them hold about n_h / h independent
 * ones: at step 1 with a validation year the step's own quantile (fat tails and all) dominates; at step
 * 60 the same year holds a handful and the pooled quantile does. `counts[h]`: residuals at step h + 1.
 */
export function shrunkQuantiles(perStep: readonly number[], pooled: number, counts: readonly number[], k = SHRINKAGE_OUTCOMES): number[] {
  return perStep.map((q, h) => {
    const effective = (counts[h] as number) / (h + 1);
    const w = effective / (effective + k);
    return w * q + (1 - w) * pooled;
  });
}

/** How a band multiple per step is taken from the normalised residuals (see IntervalWindow). */
export type StepPooling = 'per_step' | 'pooled' | 'shrunk';

/**
 * Quantiles per horizon step of held-out (validation) absolute residuals divided by the forecast
 * standard deviation of that step (`scale[i][h]`, from the volatility model on the forecast day): the
 * normalized split-conformal score, whose guarantee holds like the plain one while the band follows
 * the volatility regime. `actual[i][h]` may be NaN where that step's day is unavailable; such cells are
 * skipped. 'pooled': every step gets the quantile of all steps' scores together; 'shrunk': each step's
 * quantile shrunk toward that pooled one by its effective sample (shrunkQuantiles).
 */
export function calibrateIntervals(
  actual: readonly (readonly number[])[],
  predicted: readonly (readonly number[])[],
  scale: readonly (readonly number[])[],
  pooling: StepPooling = 'per_step',
): IntervalCalibration {
  const perStep = normalisedScores(actual, predicted, scale);
  return { q80: stepQuantiles(perStep, 0.8, pooling), q95: stepQuantiles(perStep, 0.95, pooling), scaled_by: 'volatility_forecast' };
}

/** Per horizon step, |actual − predicted| / scale of every day where the step's outcome is known (NaN cells skipped). */
export function normalisedScores(actual: readonly (readonly number[])[], predicted: readonly (readonly number[])[], scale: readonly (readonly number[])[]): number[][] {
  const horizon = predicted[0]?.length ?? 0;
  return Array.from({ length: horizon }, (_, h) => {
    const scores: number[] = [];
    actual.forEach((row, i) => {
      const a = row[h] as number;
      if (!Number.isNaN(a)) scores.push(Math.abs(a - ((predicted[i] as readonly number[])[h] as number)) / ((scale[i] as readonly number[])[h] as number));
    });
    return scores;
  });
}

/** The conformal quantile at `coverage` of each step's scores, per step, pooled over steps or shrunk toward the pooled one. */
export function stepQuantiles(perStep: readonly (readonly number[])[], coverage: number, pooling: StepPooling): number[] {
  const own = perStep.map((s) => conformalQuantile(s, coverage));
  if (pooling === 'per_step') return own;
  // one quantile from every step's normalised residuals: a volatility model that scales right makes
  // them alike across steps, and pooling gives the long steps the short steps' evidence
  const pooled = conformalQuantile(perStep.flat(), coverage);
  return pooling === 'pooled' ? own.map(() => pooled) : shrunkQuantiles(own, pooled, perStep.map((s) => s.length));
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
