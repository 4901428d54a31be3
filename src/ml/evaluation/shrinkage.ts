/**
 * Shrinkage of a forecast towards the naive one by the weight of the evidence that it has skill.
 * The rule is positive-part James–Stein on a t-statistic: an estimated coefficient b with t-statistic t
 * is used as b · max(0, 1 − (z / t)²), so it is exactly 0 (the naive forecast, or the base rate) unless
 * the held-out evidence is significant at two-sided 5 % (|t| > z = 1.96), and approaches b as the
 * evidence grows.
 */

/** Two-sided 5 % normal critical value: the evidence a coefficient needs before any of it is used. */
export const EVIDENCE_Z = 1.959964;

/** Positive-part James–Stein factor for a coefficient with this t-statistic. */
export function evidenceFactor(tStatistic: number): number {
  if (!Number.isFinite(tStatistic) || tStatistic === 0) return 0;
  return Math.max(0, 1 - (EVIDENCE_Z / tStatistic) ** 2);
}

/**
 * Per horizon step h (1-based position h + 1), the factor k in [0, 1] that serves k × the network's
 * predicted cumulative log return (naive = 0). k is the least-squares slope of actual on predicted
 * through the origin on validation data, shrunk by evidenceFactor; the standard error counts h + 1
 * overlapping days as one independent observation (cumulative returns of neighbouring forecasts share
 * all but one day). A negative slope (the network is anti-informative) gives 0: never flip a forecast.
 * `actual[i][h]` may be NaN (skipped).
 */
export function fitShrinkage(actual: readonly (readonly number[])[], predicted: readonly (readonly number[])[]): number[] {
  const horizon = predicted[0]?.length ?? 0;
  const factors: number[] = [];
  for (let h = 0; h < horizon; h += 1) {
    let sap = 0;
    let spp = 0;
    let n = 0;
    actual.forEach((row, i) => {
      const a = row[h] as number;
      if (Number.isNaN(a)) return;
      const p = (predicted[i] as readonly number[])[h] as number;
      sap += a * p;
      spp += p * p;
      n += 1;
    });
    if (n < 3 || spp <= 0) {
      factors.push(0);
      continue;
    }
    const slope = sap / spp;
    let sse = 0;
    actual.forEach((row, i) => {
      const a = row[h] as number;
      if (!Number.isNaN(a)) sse += (a - slope * ((predicted[i] as readonly number[])[h] as number)) ** 2;
    });
    const standardError = Math.sqrt(((sse / (n - 1)) * (h + 1)) / spp);
    const factor = slope <= 0 ? 0 : slope * evidenceFactor(slope / standardError);
    factors.push(Math.min(1, factor));
  }
  return factors;
}

/** The served cumulative log returns: each step's network forecast times its factor. */
export function shrinkForecast(factors: readonly number[], predicted: readonly number[]): number[] {
  return predicted.map((r, h) => (factors[h] ?? 0) * r);
}
