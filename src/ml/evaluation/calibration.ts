import type { DirectionModel, ReliabilityBin } from '../types.js';
import { evidenceFactor } from './shrinkage.js';

/**
 * The probability that the next close is above the last one (an "up day"), from the network's
 * predicted next-day log return: a logistic (Platt) calibration around the base rate,
 * p = σ(logit(base rate) + slope · predicted / scale), whose slope is fitted on validation data and
 * shrunk towards 0 by the evidence for it (evidenceFactor). Without evidence of skill p is the base
 * rate, the constant forecast it is scored against.
 */

const logistic = (x: number): number => 1 / (1 + Math.exp(-x));
const logit = (p: number): number => Math.log(p / (1 - p));

/** Share of up days, kept away from 0 and 1 (a Laplace estimate) so the logit is finite. */
export function baseRate(nextDayReturns: readonly number[]): number {
  if (nextDayReturns.length === 0) throw new RangeError('no returns for a base rate');
  return (nextDayReturns.filter((r) => r > 0).length + 1) / (nextDayReturns.length + 2);
}

/**
 * Fits the slope by Newton's method on the validation log-likelihood with the intercept fixed at the
 * base rate (estimated on train + validation, where there is more data than validation alone), then
 * shrinks it. `scale` standardises the predictions, so the slope is unit-free.
 */
export function fitDirectionModel(actualNext: readonly number[], predictedNext: readonly number[], rate: number): DirectionModel {
  if (actualNext.length !== predictedNext.length || actualNext.length === 0) throw new RangeError('direction calibration needs equal, non-empty actual and predicted changes');
  const n = predictedNext.length;
  const mean = predictedNext.reduce((s, p) => s + p, 0) / n;
  const scale = Math.sqrt(predictedNext.reduce((s, p) => s + (p - mean) ** 2, 0) / n) || 1;
  const intercept = logit(rate);
  const z = predictedNext.map((p) => p / scale);
  const y = actualNext.map((a) => (a > 0 ? 1 : 0));
  let slope = 0;
  let information = 0;
  for (let iteration = 0; iteration < 25; iteration += 1) {
    let gradient = 0;
    information = 0;
    z.forEach((zi, i) => {
      const p = logistic(intercept + slope * zi);
      gradient += ((y[i] as number) - p) * zi;
      information += p * (1 - p) * zi * zi;
    });
    if (information <= 0) break;
    const stepSize = gradient / information;
    slope += Math.max(-2, Math.min(2, stepSize));
    if (Math.abs(stepSize) < 1e-10) break;
  }
  const standardError = information > 0 ? 1 / Math.sqrt(information) : Number.POSITIVE_INFINITY;
  const tStatistic = slope / standardError;
  return { base_rate: rate, scale, fitted_slope: slope, slope_t: tStatistic, slope: slope * evidenceFactor(tStatistic) };
}

/** Calibrated probability that the next close is above the last one. */
export function probabilityUp(model: DirectionModel, predictedNext: number): number {
  return logistic(logit(model.base_rate) + (model.slope * predictedNext) / model.scale);
}

/** Mean squared difference between the probability and the 0/1 outcome (lower is better). */
export function brierScore(probabilities: readonly number[], outcomes: readonly boolean[]): number {
  if (probabilities.length !== outcomes.length || probabilities.length === 0) throw new RangeError('Brier score needs equal, non-empty probabilities and outcomes');
  return probabilities.reduce((s, p, i) => s + (p - (outcomes[i] ? 1 : 0)) ** 2, 0) / probabilities.length;
}

export const RELIABILITY_BINS = 5;

/**
 * Predicted against observed frequency in equal-count bins of the predicted probability (one bin when
 * every probability is the same): a calibrated forecast has observed ≈ mean_predicted in every bin.
 */
export function reliabilityTable(probabilities: readonly number[], outcomes: readonly boolean[], bins = RELIABILITY_BINS): ReliabilityBin[] {
  if (probabilities.length !== outcomes.length || probabilities.length === 0) throw new RangeError('reliability needs equal, non-empty probabilities and outcomes');
  const pairs = probabilities.map((p, i) => ({ p, up: outcomes[i] === true })).sort((a, b) => a.p - b.p);
  const spread = (pairs.at(-1)?.p ?? 0) - (pairs[0]?.p ?? 0);
  const count = spread < 1e-9 ? 1 : Math.min(bins, pairs.length);
  const table: ReliabilityBin[] = [];
  for (let k = 0; k < count; k += 1) {
    const slice = pairs.slice(Math.floor((k * pairs.length) / count), Math.floor(((k + 1) * pairs.length) / count));
    table.push({
      from: (slice[0] as { p: number }).p,
      to: (slice.at(-1) as { p: number }).p,
      mean_predicted: slice.reduce((s, x) => s + x.p, 0) / slice.length,
      observed: slice.filter((x) => x.up).length / slice.length,
      count: slice.length,
    });
  }
  return table;
}
