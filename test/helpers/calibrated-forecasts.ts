import type { ScoredForecast } from '../../src/ml/evaluation/evaluate.js';
import { createRng } from '../../src/ml/random.js';
import { standardGaussian } from './fat-tails.js';

type Rng = ReturnType<typeof createRng>;

/** The daily moves of the worlds below: 1 % standard deviation. */
const DAILY_SD = 0.01;

/**
 * Held-out forecasts of a perfect model: `days` consecutive forecast days of `steps` steps over independent
 * Gaussian daily moves of 1 %, each served with the naive price and the exact Gaussian 80 % and 95 % bands
 * of the cumulative move, so every band covers its level in expectation at every step. What such a model
 * scores on a finite test split is sampling noise alone.
 */
export function calibratedForecasts(days: number, steps: number, seed: number): ScoredForecast[] {
  const rng = createRng(seed);
  return perfectForecasts(Array.from({ length: days + steps }, () => DAILY_SD * standardGaussian(rng)), days, steps);
}

/**
 * The same perfect model's forecasts over given daily moves (each of standard deviation 1 %, at least
 * `days + steps` of them), so that several series can share market days: see correlatedMoves.
 */
export function perfectForecasts(moves: readonly number[], days: number, steps: number): ScoredForecast[] {
  return Array.from({ length: days }, (_, d) => {
    const actual = cumulativeMoves(moves, d, steps);
    const sd = actual.map((_, h) => DAILY_SD * Math.sqrt(h + 1));
    return {
      date: `d${String(d).padStart(5, '0')}`, lastPrice: 100, driftPerDay: 100, movingAverage: 100,
      predicted: actual.map(() => 0), raw: actual.map(() => 0), actual,
      w80: sd.map((v) => 1.2815516 * v), w95: sd.map((v) => 1.959964 * v),
      variance: sd.map((v) => v * v), ewmaVariance: sd.map((v) => v * v), garchVariance: sd.map((v) => v * v),
      volatilityModel: 'ewma', probabilityUp: 0.5, baseRate: 0.5,
    };
  });
}

/**
 * `length` days of Gaussian daily moves of 1 % for several series at once, correlated day by day as
 * `correlation` says (a positive-definite correlation matrix): one row of moves per series.
 */
export function correlatedMoves(correlation: readonly (readonly number[])[], length: number, rng: Rng): number[][] {
  const factor = choleskyFactor(correlation);
  const moves = correlation.map(() => new Array<number>(length).fill(0));
  for (let t = 0; t < length; t += 1) {
    const shocks = correlation.map(() => standardGaussian(rng));
    factor.forEach((row, i) => {
      (moves[i] as number[])[t] = DAILY_SD * row.reduce((sum, l, j) => sum + l * (shocks[j] as number), 0);
    });
  }
  return moves;
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

/** The cumulative sums of `steps` daily moves from day `from` on: a forecast day's realised path, overlapping the next day's in steps − 1 days. */
export function cumulativeMoves(moves: readonly number[], from: number, steps: number): number[] {
  const path: number[] = [];
  for (let h = 0, sum = 0; h < steps; h += 1) path.push((sum += moves[from + h] as number));
  return path;
}
