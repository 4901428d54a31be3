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
