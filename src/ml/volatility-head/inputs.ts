import { RISKMETRICS_LAMBDA, VOLATILITY_HISTORY } from '../evaluation/volatility.js';

/**
 * What the learned volatility head sees and predicts, as pure functions shared by training and serving.
 *
 * Everything is relative to the long-run variance L (the mean squared return of the trailing
 * VOLATILITY_HISTORY returns, the level GARCH's variance targeting reverts to), so the head learns the
 * shape of a volatility regime rather than a symbol's level and applies to symbols it never saw.
 * Per day of its window it reads r/√L, |r|/√L and log(EWMA variance / L) — the last carries the
 * memory beyond the window. Its output o_h per step gives the cumulative variance h · L · exp(o_h):
 * 0 is the long-run level, exactly what GARCH forecasts far ahead.
 */

/** Input columns per window day. */
export const HEAD_FEATURES = 3;

/** Mean squared return of the trailing history (the same returns the GARCH and EWMA forecasts read). */
export function longRunVariance(returns: readonly number[]): number {
  const recent = returns.length > VOLATILITY_HISTORY ? returns.slice(-VOLATILITY_HISTORY) : returns;
  if (recent.length === 0) throw new RangeError('no returns to forecast volatility from');
  const mean = recent.reduce((s, r) => s + r * r, 0) / recent.length;
  // A flat series (all returns 0) would divide by zero; a tiny floor keeps the inputs finite.
  return Math.max(mean, 1e-12);
}

/**
 * The head's input window (window × HEAD_FEATURES, row-major, oldest day first) from the trailing
 * returns. Days before the first available return are zeros (no move, EWMA at the long-run level),
 * so a short history gives a defined input on both the training and the serving side.
 */
export function headInput(returns: readonly number[], window: number, longRun: number): Float64Array {
  const recent = returns.length > VOLATILITY_HISTORY ? returns.slice(-VOLATILITY_HISTORY) : returns;
  const input = new Float64Array(window * HEAD_FEATURES);
  const scale = Math.sqrt(longRun);
  let ewma = longRun;
  const first = recent.length - window;
  recent.forEach((r, i) => {
    ewma = RISKMETRICS_LAMBDA * ewma + (1 - RISKMETRICS_LAMBDA) * r * r;
    const t = i - first;
    if (t < 0) return;
    input[t * HEAD_FEATURES] = r / scale;
    input[t * HEAD_FEATURES + 1] = Math.abs(r) / scale;
    input[t * HEAD_FEATURES + 2] = Math.log(ewma / longRun);
  });
  return input;
}

/** Cumulative variance forecasts for steps 1..horizon from the head's outputs. */
export function variancesOfOutput(output: ArrayLike<number>, longRun: number, horizon: number): number[] {
  return Array.from({ length: horizon }, (_, h) => (h + 1) * longRun * Math.exp(output[h] as number));
}

/**
 * Training targets: realised cumulative variance over steps 1..h divided by h · L, so that the loss
 * o + y · exp(−o) is the QLIKE of the forecast h · L · exp(o) up to a constant per cell.
 */
export function headTargets(realised: readonly number[], longRun: number): number[] {
  return realised.map((v, h) => v / ((h + 1) * longRun));
}
