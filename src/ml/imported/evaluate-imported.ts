import type * as tf from '@tensorflow/tfjs';
import type { Bar } from '../../market/bar.js';
import { buildDataset, chronologicalSplitDates, type Sample } from '../dataset.js';
import { calibrateIntervals } from '../evaluation/conformal.js';
import { calibrateDirection } from '../evaluation/direction.js';
import { beatsNaive, evaluateForecasts } from '../evaluation/evaluate.js';
import { scoredForecasts, testForecastsBySymbol } from '../training/train.js';
import type { DirectionCalibration, Evaluation, IntervalCalibration, TestForecasts } from '../types.js';
import type { ImportedScalerState } from './imported-scaler.js';
import { inputWindow, predictCloses } from './next-close.js';

export interface ImportedEvaluationInput {
  readonly model: tf.LayersModel;
  readonly scaler: ImportedScalerState;
  readonly window: number;
  readonly horizon: number;
  readonly symbol: string;
  readonly bars: readonly Bar[];
  readonly trainFraction: number;
  readonly validationFraction: number;
}

export interface ImportedEvaluation {
  readonly evaluation: Evaluation;
  readonly beats_naive: boolean;
  readonly intervals: IntervalCalibration;
  readonly direction: DirectionCalibration;
  readonly testForecasts: TestForecasts;
}

/**
 * Judges an imported network exactly like a native model: the same chronological split and
 * samples (buildDataset), intervals and direction confidence calibrated on the validation split
 * from this network's own residuals, and the test split scored against naive and the other
 * baselines by the shared evaluation code. Nothing is fitted: the network and scaler are used as imported.
 */
export function evaluateImported(input: ImportedEvaluationInput): ImportedEvaluation {
  const series = [{ symbol: input.symbol, bars: input.bars }];
  const split = chronologicalSplitDates(series, input.trainFraction, input.validationFraction);
  const dataset = buildDataset(series, input.window, input.horizon, split);
  if (dataset.test.length === 0) throw new RangeError(`${input.symbol}: no test days to evaluate the imported model on`);
  const index = new Map(input.bars.map((bar, i) => [bar.date, i]));
  const predictLogReturns = (samples: readonly Sample[]): number[][] => {
    const windows = samples.map((s) => inputWindow(input.bars, index.get(s.date) as number, input.window, input.scaler.inputs));
    return predictCloses(input.model, input.scaler, windows, input.horizon).map((prices, i) =>
      prices.map((price) => {
        if (!(price > 0) || !Number.isFinite(price)) {
          throw new RangeError(`the imported network predicts a close of ${price} after ${(samples[i] as Sample).date}: its output or scaler does not fit ${input.symbol}'s prices`);
        }
        return Math.log(price / (samples[i] as Sample).lastPrice);
      }),
    );
  };
  const validationPredicted = predictLogReturns(dataset.validation);
  const validationActual = dataset.validation.map((s) => s.targets);
  const intervals = calibrateIntervals(validationActual, validationPredicted, dataset.validation.map((s) => s.volatility));
  const direction = calibrateDirection(validationActual.map((t) => t[0] as number), validationPredicted.map((p) => p[0] as number));
  const scored = scoredForecasts(dataset.test, predictLogReturns(dataset.test), intervals);
  const evaluation = evaluateForecasts(scored);
  return { evaluation, beats_naive: beatsNaive(evaluation), intervals, direction, testForecasts: testForecastsBySymbol(dataset.test, scored) };
}
