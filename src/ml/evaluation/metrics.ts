/** Point-forecast metrics over paired actual/predicted values (same length, non-empty). */

function checkPairs(actual: readonly number[], predicted: readonly number[]): void {
  if (actual.length !== predicted.length) throw new RangeError(`length mismatch: ${actual.length} actual vs ${predicted.length} predicted`);
  if (actual.length === 0) throw new RangeError('no values to score');
}

export function meanAbsoluteError(actual: readonly number[], predicted: readonly number[]): number {
  checkPairs(actual, predicted);
  return actual.reduce((s, a, i) => s + Math.abs(a - (predicted[i] as number)), 0) / actual.length;
}

export function rootMeanSquaredError(actual: readonly number[], predicted: readonly number[]): number {
  checkPairs(actual, predicted);
  return Math.sqrt(actual.reduce((s, a, i) => s + (a - (predicted[i] as number)) ** 2, 0) / actual.length);
}

/** In percent; prices are positive so the denominator never vanishes. */
export function meanAbsolutePercentageError(actual: readonly number[], predicted: readonly number[]): number {
  checkPairs(actual, predicted);
  return (100 * actual.reduce((s, a, i) => s + Math.abs((a - (predicted[i] as number)) / a), 0)) / actual.length;
}

/** Share of cases where the predicted change has the same direction as the actual one ("up" = strictly > 0). */
export function directionalHitRate(actualChanges: readonly number[], predictedChanges: readonly number[]): number {
  checkPairs(actualChanges, predictedChanges);
  return actualChanges.filter((a, i) => a > 0 === (predictedChanges[i] as number) > 0).length / actualChanges.length;
}

/** Share of cases that went up: the hit rate of always predicting "up". */
export function upShare(actualChanges: readonly number[]): number {
  if (actualChanges.length === 0) throw new RangeError('no values to score');
  return actualChanges.filter((a) => a > 0).length / actualChanges.length;
}

/** Pearson correlation; 0 when either side is constant (a forecast with no movement explains nothing). */
export function correlation(x: readonly number[], y: readonly number[]): number {
  checkPairs(x, y);
  const mx = x.reduce((s, v) => s + v, 0) / x.length;
  const my = y.reduce((s, v) => s + v, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i += 1) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx < 1e-300 || syy < 1e-300 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/** Standard normal CDF via the Abramowitz–Stegun 7.1.26 erf approximation (|error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * One-sided Diebold–Mariano test on absolute errors: the p-value of "the model's errors are not
 * smaller than the baseline's" for one-step forecasts (no autocorrelation correction needed at
 * horizon 1). A MAE ratio of 0.999 over a few hundred days is noise, and this says so.
 */
export function dieboldMarianoPValue(actual: readonly number[], model: readonly number[], baseline: readonly number[]): number {
  checkPairs(actual, model);
  checkPairs(actual, baseline);
  const diffs = actual.map((a, i) => Math.abs(a - (model[i] as number)) - Math.abs(a - (baseline[i] as number)));
  const n = diffs.length;
  const mean = diffs.reduce((s, d) => s + d, 0) / n;
  const variance = diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / Math.max(1, n - 1);
  if (variance < 1e-300) return mean < 0 ? 0 : 1;
  return normalCdf(mean / Math.sqrt(variance / n));
}

/**
 * Winkler's interval score of a central (1 − missRate) band: its width plus 2 / missRate times the
 * distance by which the outcome falls outside it. A proper score: lower is better, and neither a too
 * narrow nor a too wide band can game it.
 */
export function intervalScore(lower: number, upper: number, actual: number, missRate: number): number {
  const below = actual < lower ? lower - actual : 0;
  const above = actual > upper ? actual - upper : 0;
  return upper - lower + (2 / missRate) * (below + above);
}
