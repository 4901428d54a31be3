import { neutralAdaptiveState, updateAdaptiveState } from './evaluation/adaptive.js';
import { fitDirectionModel, probabilityUp } from './evaluation/calibration.js';
import { calibrateIntervals, intervalHalfWidths } from './evaluation/conformal.js';
import { fitShrinkage, shrinkForecast } from './evaluation/shrinkage.js';
import { fitGarch, horizonVariances, meanQlike, realisedVariances, RISKMETRICS, VOLATILITY_HISTORY, type VolatilityObservation } from './evaluation/volatility.js';
import type { Bar } from '../market/bar.js';
import { FEATURE_NAMES, FEATURE_WARMUP } from './features.js';
import type { AdaptiveIntervalState, Calibration, IntervalCalibration } from './types.js';

/**
 * From the network's raw output to what is served: the point forecast shrunk towards naive, bands of
 * conformal multiples of the volatility forecast (times the adaptive multipliers), the expected
 * volatility, and the probability of an up day. The same function serves a request and scores a
 * held-out day, so what is evaluated is what is served.
 */

const LOG_RETURN_COLUMN = FEATURE_NAMES.indexOf('log_return');

/** The daily log returns up to and including feature row `row` (at most VOLATILITY_HISTORY of them), from the feature matrix. */
export function trailingReturns(featureRows: readonly (readonly number[])[], row: number): number[] {
  const out: number[] = [];
  for (let r = Math.max(0, row - VOLATILITY_HISTORY + 1); r <= row; r += 1) out.push((featureRows[r] as readonly number[])[LOG_RETURN_COLUMN] as number);
  return out;
}

/**
 * The same returns for a forecast from the bars themselves (the last one is the forecast day): the log
 * returns of the last VOLATILITY_HISTORY bars from FEATURE_WARMUP on, i.e. of the rows the feature
 * matrix would have, without building it.
 */
export function trailingReturnsOfBars(bars: readonly Bar[]): number[] {
  const out: number[] = [];
  for (let t = Math.max(FEATURE_WARMUP, bars.length - VOLATILITY_HISTORY); t < bars.length; t += 1) {
    out.push(Math.log((bars[t] as Bar).adjClose / (bars[t - 1] as Bar).adjClose));
  }
  return out;
}

export interface CalibratedOutput {
  /** Served and raw cumulative log returns per step. */
  readonly served: readonly number[];
  readonly raw: readonly number[];
  /** Forecast standard deviation of the cumulative log return per step. */
  readonly volatility: readonly number[];
  /** Band half-widths in log-return units per step. */
  readonly w80: readonly number[];
  readonly w95: readonly number[];
  readonly probabilityUp: number;
}

export function applyCalibration(
  calibration: Omit<Calibration, 'adaptive'>,
  raw: readonly number[],
  returns: readonly number[],
  adaptive?: AdaptiveIntervalState,
): CalibratedOutput {
  const volatility = horizonVariances(calibration.volatility, returns, raw.length).map(Math.sqrt);
  const { w80, w95 } = intervalHalfWidths(calibration.intervals, volatility, adaptive);
  return {
    served: shrinkForecast(calibration.shrinkage, raw),
    raw,
    volatility,
    w80,
    w95,
    probabilityUp: probabilityUp(calibration.direction, raw[0] as number),
  };
}

/** A held-out day to calibrate on or score: the network's raw forecast, the returns before it and what happened. */
export interface CalibrationDay {
  readonly raw: readonly number[];
  readonly returns: readonly number[];
  /** Realised cumulative log returns per step; NaN where unavailable. */
  readonly actual: readonly number[];
}

/** At most this many training days fit the GARCH (evenly spaced): its likelihood is flat well before that. */
const GARCH_FIT_DAYS = 1500;

/**
 * Fits everything on held-out validation days except the GARCH parameters (training days) and the
 * base rate of up days (training + validation days, passed in): shrinkage factors per step, the
 * volatility model (EWMA or GARCH, lower validation QLIKE), conformal quantiles of the residuals of the
 * shrunk forecast normalised by that model's volatility, and the probability of an up day.
 */
export function fitCalibration(training: readonly VolatilityObservation[], validation: readonly CalibrationDay[], rate: number): Omit<Calibration, 'adaptive'> {
  const stride = Math.max(1, Math.ceil(training.length / GARCH_FIT_DAYS));
  const garch = fitGarch(training.filter((_, i) => i % stride === 0));
  const actual = validation.map((d) => d.actual);
  const raw = validation.map((d) => d.raw);
  const horizon = raw[0]?.length ?? 0;
  const realised = actual.map(realisedVariances);
  const ewmaQlike = meanQlike(validation.map((d) => horizonVariances(RISKMETRICS, d.returns, horizon)), realised);
  const garchQlike = meanQlike(validation.map((d) => horizonVariances(garch, d.returns, horizon)), realised);
  const volatility = garchQlike <= ewmaQlike ? garch : RISKMETRICS;
  const shrinkage = fitShrinkage(actual, raw);
  const scale = validation.map((d) => horizonVariances(volatility, d.returns, horizon).map(Math.sqrt));
  const intervals: IntervalCalibration = calibrateIntervals(actual, raw.map((r) => shrinkForecast(shrinkage, r)), scale);
  const direction = fitDirectionModel(actual.map((a) => a[0] as number), raw.map((r) => r[0] as number), rate);
  return { shrinkage, volatility, volatility_selection: { garch, ewma_qlike: ewmaQlike, garch_qlike: garchQlike }, intervals, direction };
}

/** A held-out day of one series, in order: `day` is its position in the series (any increasing day index). */
export interface SequencedDay extends CalibrationDay {
  readonly day: number;
}

/**
 * Serves one series' days in order as the service would: each day's bands use the adaptive state
 * updated by every outcome matured by that day (step h of the forecast made on day d matures on day
 * d + h). Returns each day's output and the state once every available outcome has matured.
 */
export function serveSequentially(
  calibration: Omit<Calibration, 'adaptive'>,
  days: readonly SequencedDay[],
): { outputs: CalibratedOutput[]; final: AdaptiveIntervalState } {
  const horizon = calibration.shrinkage.length;
  let state = neutralAdaptiveState(horizon);
  let pending: { matures: number; step: number; covered_80: boolean; covered_95: boolean }[] = [];
  const apply = (until: number): void => {
    const due = pending.filter((p) => p.matures <= until).sort((a, b) => a.matures - b.matures || a.step - b.step);
    pending = pending.filter((p) => p.matures > until);
    for (const outcome of due) state = updateAdaptiveState(state, outcome);
  };
  const outputs = days.map((d) => {
    apply(d.day);
    const output = applyCalibration(calibration, d.raw, d.returns, state);
    d.actual.forEach((a, h) => {
      if (Number.isNaN(a)) return;
      const miss = Math.abs(a - (output.served[h] as number));
      pending.push({ matures: d.day + h + 1, step: h + 1, covered_80: miss <= (output.w80[h] as number), covered_95: miss <= (output.w95[h] as number) });
    });
    return output;
  });
  apply(Number.POSITIVE_INFINITY);
  return { outputs, final: state };
}
