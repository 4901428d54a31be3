import type { AdaptiveIntervalState, AdaptiveRule } from '../types.js';

/**
 * Adaptive conformal update of the prediction bands from outcomes as they mature, so coverage recovers
 * after a regime change the calibration data did not contain. This is the quantile-tracking form of
 * adaptive conformal inference (Gibbs & Candès 2021; Angelopoulos, Candès & Tibshirani 2023): each
 * band's width multiplier moves by exp(step · (miss − α)) per matured outcome, so over time the share
 * of misses is driven to α whatever the distribution does. The step is the rule's rate, divided by the
 * horizon step h when the rule says so (outcomes at step h overlap in h − 1 of their h days, so a day
 * brings about 1/h of an independent outcome). Which rate and whether to divide is NOT fixed here: the
 * default rule's (calibrate.ts, DEFAULT_BAND_RULE) serves unless a model's validation data show another of
 * ADAPTIVE_RULES better beyond chance. Pure: the
 * caller keeps the state (metadata for the state at the end of the test split; the adaptive band store
 * fed by the outcome tracking store afterwards).
 */

/**
 * The candidate rules a model's validation data chooses from, in order of preference on a tie (no
 * adaptation first): rates of log(multiplier) per outcome from 0 to 0.1, with and without division by h.
 */
export const ADAPTIVE_RULES: readonly AdaptiveRule[] = [
  { rate: 0, divide_by_step: false },
  ...[0.01, 0.03, 0.1].flatMap((rate) => [
    { rate, divide_by_step: true },
    { rate, divide_by_step: false },
  ]),
];
/** The band levels served: 80 % and 95 %. */
export const MISS_RATE_80 = 0.2;
export const MISS_RATE_95 = 0.05;

/** One matured forecast: whether the realised close at `step` days ahead fell inside each band. */
export interface IntervalOutcome {
  /** 1-based horizon step of the band that matured. */
  readonly step: number;
  readonly covered_80: boolean;
  readonly covered_95: boolean;
}

/** The state before any outcome: the bands exactly as calibrated on validation data. */
export function neutralAdaptiveState(horizon: number): AdaptiveIntervalState {
  return { log_scale_80: new Array<number>(horizon).fill(0), log_scale_95: new Array<number>(horizon).fill(0), outcomes: 0 };
}

/** Whether a realised price lies inside a served band (inclusive). */
export function covers(lower: number, upper: number, actual: number): boolean {
  return actual >= lower && actual <= upper;
}

/** The state after one more matured outcome; the input is not modified. A step beyond the state's horizon is an error. */
export function updateAdaptiveState(state: AdaptiveIntervalState, outcome: IntervalOutcome, rule: AdaptiveRule): AdaptiveIntervalState {
  const h = outcome.step - 1;
  if (!Number.isInteger(outcome.step) || h < 0 || h >= state.log_scale_80.length) {
    throw new RangeError(`outcome step must be an integer in 1..${state.log_scale_80.length}, got ${outcome.step}`);
  }
  const log80 = [...state.log_scale_80];
  const log95 = [...state.log_scale_95];
  const step = rule.divide_by_step ? rule.rate / outcome.step : rule.rate;
  log80[h] = (log80[h] as number) + step * ((outcome.covered_80 ? 0 : 1) - MISS_RATE_80);
  log95[h] = (log95[h] as number) + step * ((outcome.covered_95 ? 0 : 1) - MISS_RATE_95);
  return { log_scale_80: log80, log_scale_95: log95, outcomes: state.outcomes + 1 };
}
