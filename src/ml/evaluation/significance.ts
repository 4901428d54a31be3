/**
 * Whether one forecast rule's loss is lower than another's by more than chance, on overlapping
 * multi-day outcomes: the Diebold–Mariano comparison, with the variance of the summed loss difference
 * estimated by Newey–West (Bartlett weights) because a day's 60-day outcome shares 59 days with the
 * next day's. Pure functions.
 */

/**
 * Newey–West estimate of the variance of Σ x_t for a stationary series: n · (γ_0 + 2 Σ_{j=1..lag}
 * (1 − j / (lag + 1)) γ_j), γ_j the sample autocovariance at lag j. The Bartlett weights keep it
 * non-negative, at the price of a downward bias: for h-day overlapping sums of independent days (an
 * MA(h − 1)) a lag of h recovers about 70 % of the true variance and a lag of 2h about 85 %. The lag is
 * capped at n − 1.
 */
export function sumVariance(values: readonly number[], lag: number): number {
  const n = values.length;
  if (n === 0) return 0;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const centred = values.map((v) => v - mean);
  const autocovariance = (j: number): number => {
    let sum = 0;
    for (let t = j; t < n; t += 1) sum += (centred[t] as number) * (centred[t - j] as number);
    return sum / n;
  };
  const maxLag = Math.min(Math.max(0, Math.floor(lag)), n - 1);
  let longRun = autocovariance(0);
  for (let j = 1; j <= maxLag; j += 1) longRun += 2 * (1 - j / (maxLag + 1)) * autocovariance(j);
  return n * longRun;
}

// Acklam's rational approximation of the normal quantile (relative error below 1.2e-9), central and tail pieces.
const CENTRAL_NUMERATOR = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
const CENTRAL_DENOMINATOR = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const TAIL_NUMERATOR = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const TAIL_DENOMINATOR = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const TAIL_BOUNDARY = 0.02425;

/** Horner's evaluation of a polynomial with coefficients from the highest power down. */
function polynomial(coefficients: readonly number[], x: number): number {
  return coefficients.reduce((sum, c) => sum * x + c, 0);
}

/** The p-quantile of the standard normal distribution. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  if (p > 1 - TAIL_BOUNDARY) return -normalQuantile(1 - p);
  if (p < TAIL_BOUNDARY) {
    const q = Math.sqrt(-2 * Math.log(p));
    return polynomial(TAIL_NUMERATOR, q) / (polynomial(TAIL_DENOMINATOR, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (polynomial(CENTRAL_NUMERATOR, r) * q) / (polynomial(CENTRAL_DENOMINATOR, r) * r + 1);
}

/**
 * The z-statistic of "rule B's summed loss is lower than rule A's" from per-day loss differences A − B
 * of several series that may be correlated with each other (symbols on the same market days): the
 * standard deviation of the total is bounded by the sum of the series' own (Cauchy–Schwarz), so the
 * statistic never overstates the evidence. 0 without a variance to judge by (no difference at all, or one
 * day per series): no evidence either way.
 */
export function advantageZ(differences: readonly (readonly number[])[], lag: number): number {
  const total = differences.reduce((s, series) => s + series.reduce((a, d) => a + d, 0), 0);
  const sd = differences.reduce((s, series) => s + Math.sqrt(sumVariance(series, lag)), 0);
  return sd === 0 ? 0 : total / sd;
}
