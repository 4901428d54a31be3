/**
 * Sampling error of sums of daily figures whose outcomes overlap or cluster: Newey–West for a long
 * stationary series (next-day coverage), batch means for comparing two rules' losses on a few hundred days
 * of outcomes up to 60 days ahead. Pure functions.
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

/** A t-statistic with its degrees of freedom (0: too few days for a variance estimate, no evidence either way). */
export interface TTest {
  readonly t: number;
  readonly degreesOfFreedom: number;
}

/**
 * Batch-means t-statistic of "rule B's summed loss is lower than rule A's" from per-day loss differences
 * A − B of several series. Each series' most recent days are cut into batches of `batchLength` days, each
 * separated from the next by `gap` days that are left out (and the oldest remainder dropped): with a gap of
 * one horizon, no outcome day is shared between batches, so the batch sums are independent for independent
 * daily moves and their spread estimates the variance of the total honestly. (Adjacent batches share
 * outcome days at their borders, and a 5 % test on them rejects more often: 7.65 % in the unit test. A
 * Newey–West estimate on a few hundred days of 60-day outcomes sees one market episode as a consistent
 * effect and, in simulation, replaced a correct rule one run in five.) Series may be correlated (symbols on
 * the same market days): the standard deviation of the total is bounded by the sum of the series' own
 * (Cauchy–Schwarz), and the degrees of freedom are those of the series with the fewest batches, so the
 * statistic never overstates the evidence. A series with fewer than two batches carries no variance
 * estimate and is left out of the statistic, its total too; with none left the result is t 0 with 0
 * degrees of freedom.
 */
export function batchMeansT(differences: readonly (readonly number[])[], batchLength: number, gap = 0): TTest {
  const length = Math.max(1, Math.floor(batchLength));
  const stride = length + Math.max(0, Math.floor(gap));
  let [total, sd, degreesOfFreedom] = [0, 0, Number.POSITIVE_INFINITY];
  for (const series of differences) {
    // batches counted back from the most recent day: batch, gap, batch, … (no gap needed before the oldest)
    const batches = Math.floor((series.length + stride - length) / stride);
    if (batches < 2) continue;
    const sums = Array.from({ length: batches }, (_, b) => {
      const end = series.length - b * stride;
      return series.slice(end - length, end).reduce((a, d) => a + d, 0);
    });
    const mean = sums.reduce((a, v) => a + v, 0) / batches;
    const variance = sums.reduce((a, v) => a + (v - mean) ** 2, 0) / (batches - 1);
    total += mean * batches;
    sd += Math.sqrt(batches * variance);
    degreesOfFreedom = Math.min(degreesOfFreedom, batches - 1);
  }
  if (!Number.isFinite(degreesOfFreedom)) return { t: 0, degreesOfFreedom: 0 };
  return { t: sd === 0 ? 0 : total / sd, degreesOfFreedom };
}
