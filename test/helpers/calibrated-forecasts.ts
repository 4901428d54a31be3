import type { ScoredForecast } from '../../src/ml/evaluation/evaluate.js';
import { cumulativeVariances, horizonVariances, RISKMETRICS, VOLATILITY_HISTORY } from '../../src/ml/evaluation/volatility.js';
import { createRng, type Rng } from '../../src/ml/random.js';
import type { Evaluation } from '../../src/ml/types.js';
import { standardGaussian } from './fat-tails.js';

/** The daily moves of calibratedForecasts' world: 1 % standard deviation. */
const DAILY_SD = 0.01;

/**
 * Held-out forecasts of a perfect model: a test split of `days` consecutive forecast days of `steps` steps
 * over independent Gaussian daily moves of 1 %, each served with the naive price and the exact Gaussian
 * 80 % and 95 % bands of the cumulative move, so every band covers its level in expectation at every step.
 * As in the service's evaluation, outcomes after the split's last day are unknown. What such a model
 * scores on a finite test split is sampling noise alone.
 */
export function calibratedForecasts(days: number, steps: number, seed: number): ScoredForecast[] {
  const rng = createRng(seed);
  const moves = Array.from({ length: days }, () => DAILY_SD * standardGaussian(rng));
  const variance = cumulativeVariances(DAILY_SD ** 2, DAILY_SD ** 2, 1, steps);
  return Array.from({ length: days }, (_, d) => bandsOfVariance(d, heldOutPath(moves, d, steps), variance, variance, 'ewma'));
}

/**
 * A forecast day served with the naive price and the Gaussian 80 % and 95 % bands of the cumulative
 * variances `variance` (steps 1..horizon), scored beside RiskMetrics' `ewmaVariance`.
 */
function bandsOfVariance(
  day: number,
  actual: readonly number[],
  variance: readonly number[],
  ewmaVariance: readonly number[],
  volatilityModel: Evaluation['volatility_model'],
): ScoredForecast {
  const sd = variance.map(Math.sqrt);
  return {
    date: `d${String(day).padStart(5, '0')}`, lastPrice: 100, driftPerDay: 100, movingAverage: 100,
    predicted: actual.map(() => 0), raw: actual.map(() => 0), actual,
    w80: sd.map((v) => 1.2815516 * v), w95: sd.map((v) => 1.959964 * v),
    variance, ewmaVariance, garchVariance: variance,
    volatilityModel, probabilityUp: 0.5, baseRate: 0.5,
  };
}

/** A GARCH(1,1) process of daily log returns: persistence alpha + beta, reverting to the daily variance `longRun`. */
export interface GarchProcess {
  readonly alpha: number;
  readonly beta: number;
  readonly longRun: number;
}

/**
 * Held-out forecasts of a model that knows the true variance, in a world of GARCH(1,1) returns: series i
 * runs `garchProcesses[i]` on `shocks[i]` (unit innovations, e.g. correlatedShocks), starting at its
 * long-run variance. After the first VOLATILITY_HISTORY returns come `days` test days; each is
 * forecast the evening before, with Gaussian bands of the true conditional variance of its cumulative
 * return, beside RiskMetrics run over the trailing returns as the service runs it. Outcomes after the
 * last test day are unknown. One forecast list per series, on the same days.
 */
export function garchForecasts(garchProcesses: readonly GarchProcess[], shocks: readonly (readonly number[])[], days: number, steps: number): ScoredForecast[][] {
  return garchProcesses.map((garch, i) => {
    const innovations = shocks[i];
    if (innovations === undefined || innovations.length < VOLATILITY_HISTORY + days) throw new RangeError(`series ${i}: fewer than ${VOLATILITY_HISTORY + days} shocks`);
    const returns: number[] = [];
    const variances: number[] = [];
    for (let t = 0, variance = garch.longRun; t < VOLATILITY_HISTORY + days; t += 1) {
      const r = Math.sqrt(variance) * (innovations[t] as number);
      variances.push(variance);
      returns.push(r);
      variance = (1 - garch.alpha - garch.beta) * garch.longRun + garch.alpha * r * r + garch.beta * variance;
    }
    return Array.from({ length: days }, (_, d) => {
      const t = VOLATILITY_HISTORY + d;
      const truth = cumulativeVariances(variances[t] as number, garch.longRun, garch.alpha + garch.beta, steps);
      const riskmetrics = horizonVariances(RISKMETRICS, returns.slice(t - VOLATILITY_HISTORY, t), steps);
      return bandsOfVariance(d, heldOutPath(returns, t, steps), truth, riskmetrics, 'garch');
    });
  });
}

/**
 * `length` days of unit Gaussian shocks for several series at once, correlated day by day as
 * `correlation` says (a positive-definite correlation matrix): one row per series.
 */
export function correlatedShocks(correlation: readonly (readonly number[])[], length: number, rng: Rng): number[][] {
  const factor = choleskyFactor(correlation);
  const shocks = correlation.map(() => new Array<number>(length).fill(0));
  for (let t = 0; t < length; t += 1) {
    const independent = correlation.map(() => standardGaussian(rng));
    factor.forEach((row, i) => {
      (shocks[i] as number[])[t] = row.reduce((sum, l, j) => sum + l * (independent[j] as number), 0);
    });
  }
  return shocks;
}

/** The lower-triangular L with L·Lᵀ = matrix (Cholesky–Banachiewicz). */
function choleskyFactor(matrix: readonly (readonly number[])[]): number[][] {
  const n = matrix.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i += 1) {
    for (let j = 0; j <= i; j += 1) {
      let sum = (matrix[i] as readonly number[])[j] as number;
      for (let k = 0; k < j; k += 1) sum -= ((l[i] as number[])[k] as number) * ((l[j] as number[])[k] as number);
      if (i === j) {
        if (sum <= 0) throw new RangeError('correlation matrix is not positive definite');
        (l[i] as number[])[i] = Math.sqrt(sum);
      } else {
        (l[i] as number[])[j] = sum / ((l[j] as number[])[j] as number);
      }
    }
  }
  return l;
}

/** The realised path of a forecast made before day `from`: cumulative moves from it on, NaN past the last known day. */
function heldOutPath(moves: readonly number[], from: number, steps: number): number[] {
  const known = Math.min(steps, moves.length - from);
  return [...cumulativeMoves(moves, from, known), ...new Array<number>(steps - known).fill(Number.NaN)];
}

/** The cumulative sums of `steps` daily moves from day `from` on: a forecast day's realised path, overlapping the next day's in steps − 1 days. */
export function cumulativeMoves(moves: readonly number[], from: number, steps: number): number[] {
  const path: number[] = [];
  for (let h = 0, sum = 0; h < steps; h += 1) path.push((sum += moves[from + h] as number));
  return path;
}
