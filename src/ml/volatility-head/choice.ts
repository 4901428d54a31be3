import { horizonVariances } from '../evaluation/volatility.js';
import type { VolatilityModel } from '../types.js';
import type { VolatilityHead } from './head.js';

/** The calibration's description of a loaded head (its weights stay in the version's files). */
export const headModel = (head: VolatilityHead): VolatilityModel => ({ kind: 'lstm_head', window: head.window, units: head.units });

/**
 * Cumulative variance forecasts for steps 1..horizon by whichever volatility model was chosen. The
 * LSTM head needs its loaded files: a calibration that chose it without them is a broken version.
 */
export function volatilityForecast(model: VolatilityModel, head: VolatilityHead | undefined, returns: readonly number[], horizon: number): number[] {
  if (model.kind !== 'lstm_head') return horizonVariances(model, returns, horizon);
  if (head === undefined) throw new TypeError('the calibration serves the LSTM volatility head, but no head was loaded with the model');
  return head.variances(returns, horizon);
}

export interface VolatilityCandidate {
  readonly model: VolatilityModel;
  /** Mean QLIKE on validation days (never the test split). */
  readonly qlike: number;
}

/**
 * The candidate with the lowest validation QLIKE. Ties (and a NaN score) keep the earlier candidate;
 * callers list the simpler models first (GARCH, EWMA, then the head), so the head is served only when
 * it is strictly better on validation.
 */
export function chooseVolatility(candidates: readonly VolatilityCandidate[]): VolatilityModel {
  const first = candidates[0];
  if (first === undefined) throw new RangeError('no volatility model to choose from');
  return candidates.reduce((best, c) => (c.qlike < best.qlike ? c : best), first).model;
}
