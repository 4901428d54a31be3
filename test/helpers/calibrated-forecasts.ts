import type { ScoredForecast } from '../../src/ml/evaluation/evaluate.js';
import { createRng } from '../../src/ml/random.js';
import { standardGaussian } from './fat-tails.js';

/**
 * Held-out forecasts of a perfect model: `days` consecutive forecast days of `steps` steps over independent
 * Gaussian daily moves of 1 %, each served with the naive price and the exact Gaussian 80 % and 95 % bands
 * of the cumulative move, so every band covers its level in expectation at every step. What such a model
 * scores on a finite test split is sampling noise alone.
 */
export function calibratedForecasts(days: number, steps: number, seed: number): ScoredForecast[] {
  const rng = createRng(seed);
  const moves = Array.from({ length: days + steps }, () => 0.01 * standardGaussian(rng));
  return Array.from({ length: days }, (_, d) => {
    const actual = cumulativeMoves(moves, d, steps);
    const sd = actual.map((_, h) => 0.01 * Math.sqrt(h + 1));
    return {
      date: `d${String(d).padStart(5, '0')}`, lastPrice: 100, driftPerDay: 100, movingAverage: 100,
      predicted: actual.map(() => 0), raw: actual.map(() => 0), actual,
      w80: sd.map((v) => 1.2815516 * v), w95: sd.map((v) => 1.959964 * v),
      variance: sd.map((v) => v * v), ewmaVariance: sd.map((v) => v * v), garchVariance: sd.map((v) => v * v),
      volatilityModel: 'ewma', probabilityUp: 0.5, baseRate: 0.5,
    };
  });
}

/** The cumulative sums of `steps` daily moves from day `from` on: a forecast day's realised path, overlapping the next day's in steps − 1 days. */
export function cumulativeMoves(moves: readonly number[], from: number, steps: number): number[] {
  const path: number[] = [];
  for (let h = 0, sum = 0; h < steps; h += 1) path.push((sum += moves[from + h] as number));
  return path;
}
