import type * as tf from '@tensorflow/tfjs';
import type { Bar } from '../../market/bar.js';
import { buildDataset, chronologicalSplitDates, type Sample } from '../dataset.js';
import { beatsNaive, evaluateForecasts } from '../evaluation/evaluate.js';
import { calibrateOnDataset, scoredForecasts, testRecordsBySymbol, type HeldOutRecords } from '../training/train.js';
import type { Calibration, Evaluation } from '../types.js';
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

export interface ImportedEvaluation extends HeldOutRecords {
  readonly evaluation: Evaluation;
  readonly beats_naive: boolean;
  readonly calibration: Calibration;
}

/**
 * Judges an imported network exactly like a native model: the same chronological split and
 * samples (buildDataset), the same calibration (shrinkage towards naive, volatility-scaled bands,
 * probability of an up day) fitted on the validation split from this network's own forecasts, and the
 * test split served day by day and scored against naive and the other baselines by the shared
 * evaluation code. The network and scaler are used as imported.
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
  const calibration = calibrateOnDataset(dataset, predictLogReturns(dataset.train), predictLogReturns(dataset.validation));
  const { forecasts, adaptive } = scoredForecasts(dataset.test, predictLogReturns(dataset.test), calibration);
  const evaluation = evaluateForecasts(forecasts);
  return { evaluation, beats_naive: beatsNaive(evaluation), calibration: { ...calibration, adaptive }, ...testRecordsBySymbol(dataset.test, forecasts) };
}
