import type { ClassicalVolatilityModel } from '../types.js';

/**
 * Volatility forecasts of daily log returns: EWMA (RiskMetrics) and GARCH(1,1). Both are run over the
 * trailing VOLATILITY_HISTORY returns only, so a forecast made while serving (from the last bars) is
 * exactly the one training and evaluation computed for the same day. The long-run variance of the
 * GARCH is that trailing year's mean squared return (variance targeting), so the model reverts to the
 * symbol's own recent level: it applies to symbols it was not fitted on.
 */

/** Daily returns a volatility forecast looks back over (one trading year). */
export const VOLATILITY_HISTORY = 250;
/** The RiskMetrics (J.P. Morgan 1996) decay for daily data. */
export const RISKMETRICS_LAMBDA = 0.94;
export const RISKMETRICS: ClassicalVolatilityModel = { kind: 'ewma', lambda: RISKMETRICS_LAMBDA };

function meanSquare(returns: readonly number[]): number {
  if (returns.length === 0) throw new RangeError('no returns to forecast volatility from');
  return returns.reduce((s, r) => s + r * r, 0) / returns.length;
}

/** Next-day variance after filtering `returns` (oldest first), and the long-run variance it reverts to. */
function nextDayVariance(model: ClassicalVolatilityModel, returns: readonly number[]): { next: number; longRun: number } {
  const longRun = meanSquare(returns);
  let variance = longRun;
  if (model.kind === 'ewma') {
    for (const r of returns) variance = model.lambda * variance + (1 - model.lambda) * r * r;
  } else {
    const omega = (1 - model.alpha - model.beta) * longRun;
    for (const r of returns) variance = omega + model.alpha * r * r + model.beta * variance;
  }
  return { next: variance, longRun };
}

/**
 * Forecast variance of the cumulative log return over 1..horizon days ahead, from the trailing
 * returns up to the forecast day. EWMA scales the next-day variance with the horizon (random walk);
 * GARCH lets each future day's variance decay towards the long-run level at rate alpha + beta.
 */
export function horizonVariances(model: ClassicalVolatilityModel, trailingReturns: readonly number[], horizon: number): number[] {
  const recent = trailingReturns.length > VOLATILITY_HISTORY ? trailingReturns.slice(-VOLATILITY_HISTORY) : trailingReturns;
  const { next, longRun } = nextDayVariance(model, recent);
  return cumulativeVariances(next, longRun, model.kind === 'garch' ? model.alpha + model.beta : 1, horizon);
}

/**
 * Variance of the cumulative log return over 1..horizon days when the next day's variance is `next` and each
 * later day's deviation from `longRun` shrinks by `persistence` (1: a random walk's constant variance).
 */
export function cumulativeVariances(next: number, longRun: number, persistence: number, horizon: number): number[] {
  const out: number[] = [];
  let cumulative = 0;
  let deviation = next - longRun;
  for (let h = 0; h < horizon; h += 1) {
    cumulative += longRun + deviation;
    deviation *= persistence;
    out.push(cumulative);
  }
  return out;
}

/**
 * QLIKE loss of a variance forecast against a realised variance (Patton 2011, in the form
 * log(forecast) + realised / forecast): robust to noise in the realised proxy, lower is better, and
 * defined when the realised variance is zero.
 */
export function qlike(forecastVariance: number, realisedVariance: number): number {
  return Math.log(forecastVariance) + realisedVariance / forecastVariance;
}

/** Realised variance over steps 1..h of each horizon: the running sum of squared daily log returns, from cumulative returns. */
export function realisedVariances(cumulativeReturns: readonly number[]): number[] {
  let previous = 0;
  let sum = 0;
  return cumulativeReturns.map((c) => {
    sum += (c - previous) ** 2;
    previous = c;
    return sum;
  });
}

/** One day's evidence for fitting: the returns before it and its return. */
export interface VolatilityObservation {
  readonly trailingReturns: readonly number[];
  readonly nextReturn: number;
}

const ALPHAS = [0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2];
const BETAS = [0.6, 0.7, 0.75, 0.8, 0.84, 0.88, 0.9, 0.92, 0.94, 0.96];

/**
 * GARCH(1,1) by Gaussian quasi-maximum likelihood (minimum mean QLIKE of the next-day variance) on a
 * grid of (alpha, beta) with alpha + beta < 1, over training-split days. A grid, not a gradient
 * search: the likelihood is flat near its optimum and a grid is deterministic and cannot diverge.
 */
export function fitGarch(observations: readonly VolatilityObservation[]): ClassicalVolatilityModel & { kind: 'garch' } {
  if (observations.length === 0) throw new RangeError('no observations to fit a GARCH(1,1) on');
  let best: { alpha: number; beta: number; loss: number } | undefined;
  for (const alpha of ALPHAS) {
    for (const beta of BETAS) {
      if (alpha + beta >= 0.995) continue;
      const model: ClassicalVolatilityModel = { kind: 'garch', alpha, beta };
      let loss = 0;
      for (const o of observations) loss += qlike(horizonVariances(model, o.trailingReturns, 1)[0] as number, o.nextReturn ** 2);
      loss /= observations.length;
      if (best === undefined || loss < best.loss) best = { alpha, beta, loss };
    }
  }
  const { alpha, beta } = best as { alpha: number; beta: number };
  return { kind: 'garch', alpha, beta };
}

/** Mean QLIKE over every available (forecast, horizon) cell; realised[i][h] may be NaN (skipped). */
export function meanQlike(forecast: readonly (readonly number[])[], realised: readonly (readonly number[])[]): number {
  let sum = 0;
  let count = 0;
  forecast.forEach((row, i) => {
    row.forEach((v, h) => {
      const rv = (realised[i] as readonly number[])[h] as number;
      if (Number.isNaN(rv)) return;
      sum += qlike(v, rv);
      count += 1;
    });
  });
  if (count === 0) throw new RangeError('no realised variances to score');
  return sum / count;
}
