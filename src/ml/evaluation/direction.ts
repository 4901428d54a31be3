import type { DirectionCalibration } from '../types.js';

export const DIRECTION_BUCKETS = 5;

/**
 * Hit rate of the next-day direction on held-out data, bucketed by the size of the predicted move
 * (equal-count buckets of |predicted log return|). `edges[k]` is bucket k's largest |move|; a new
 * prediction above the last edge falls in the last bucket.
 */
export function calibrateDirection(actualChanges: readonly number[], predictedChanges: readonly number[], buckets = DIRECTION_BUCKETS): DirectionCalibration {
  if (actualChanges.length !== predictedChanges.length || actualChanges.length === 0) {
    throw new RangeError('direction calibration needs equal, non-empty actual and predicted changes');
  }
  const pairs = predictedChanges
    .map((p, i) => ({ size: Math.abs(p), hit: actualChanges[i] as number > 0 === p > 0 }))
    .sort((a, b) => a.size - b.size);
  const count = Math.min(buckets, pairs.length);
  const edges: number[] = [];
  const hitRates: number[] = [];
  const counts: number[] = [];
  for (let k = 0; k < count; k += 1) {
    const slice = pairs.slice(Math.floor((k * pairs.length) / count), Math.floor(((k + 1) * pairs.length) / count));
    edges.push((slice.at(-1) as { size: number }).size);
    hitRates.push(slice.filter((p) => p.hit).length / slice.length);
    counts.push(slice.length);
  }
  return { edges, hit_rates: hitRates, counts };
}

/** Empirical probability that a predicted move of this size has the right direction. */
export function directionConfidence(calibration: DirectionCalibration, predictedChange: number): number {
  const size = Math.abs(predictedChange);
  const bucket = calibration.edges.findIndex((edge) => size <= edge);
  const index = bucket < 0 ? calibration.hit_rates.length - 1 : bucket;
  const rate = calibration.hit_rates[index];
  if (rate === undefined) throw new RangeError('empty direction calibration');
  return rate;
}
