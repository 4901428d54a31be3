import type { Bar } from '../../market/bar.js';
import { InsufficientBarsError } from '../errors.js';
import { buildDataset, type SplitDates } from '../dataset.js';
import { fitAndCalibrate, scoreSamples, type CalibratedModel } from '../training/train.js';
import type { Evaluation, TestForecastPoint, TrainingConfig, TrainingProgress } from '../types.js';
import { assertScalerFitBefore } from '../scaler.js';
import { beatsNaive, evaluateForecasts, nextDayForecastPoints, type ScoredForecast } from './evaluate.js';

export interface WalkForwardOptions {
  readonly symbol: string;
  readonly bars: readonly Bar[];
  readonly config: TrainingConfig;
  /** Recorded in the result; the caller has activated it with selectBackend. */
  readonly backend: string;
  /** Number of consecutive test windows at the end of the history. */
  readonly windows: number;
  /** Trading days per window. */
  readonly step: number;
  /** true: retrain on all history before each window; false: train once before the first window. */
  readonly refit: boolean;
  readonly onProgress?: (progress: TrainingProgress & { window: number }) => void;
}

export interface WalkForwardWindow {
  readonly from: string;
  readonly to: string;
  /** Last day of the history (train + validation) the forecasting model was fitted and calibrated on. */
  readonly trained_through: string;
  readonly evaluation: Evaluation;
  readonly beats_naive: boolean;
}

export interface WalkForwardResult {
  readonly symbol: string;
  readonly backend: string;
  readonly refit: boolean;
  readonly step: number;
  readonly windows: readonly WalkForwardWindow[];
  /** All windows' forecasts scored together. */
  readonly overall: Evaluation;
  readonly beats_naive: boolean;
  readonly points: readonly TestForecastPoint[];
}

/** Train/validation dates inside the history before `testStart`, in the configured proportions. */
function historySplit(bars: readonly Bar[], testStart: number, testEnd: number, config: TrainingConfig): SplitDates {
  const share = config.trainFraction / (config.trainFraction + config.validationFraction);
  return {
    validationFrom: (bars[Math.floor(testStart * share)] as Bar).date,
    testFrom: (bars[testStart] as Bar).date,
    testTo: (bars[testEnd - 1] as Bar).date,
  };
}

/**
 * Walk-forward backtest over the last `windows * step` trading days: each window's days are
 * forecast one day ahead by a model that saw only earlier data (trained once before the first
 * window, or retrained before each), and scored against the baselines on the same days.
 */
export async function walkForward(options: WalkForwardOptions): Promise<WalkForwardResult> {
  const { config, windows, step, symbol } = options;
  if (!Number.isInteger(windows) || windows < 1 || !Number.isInteger(step) || step < 1) {
    throw new RangeError(`windows and step must be positive integers, got ${windows} and ${step}`);
  }
  // maxBars bounds the history before the first window, as it bounds a normal training run
  const bars = config.maxBars > 0 ? options.bars.slice(-(config.maxBars + windows * step)) : options.bars;
  const firstStart = bars.length - windows * step;
  if (firstStart < 1) throw new InsufficientBarsError(`${symbol}: walk-forward of ${windows} x ${step} days`, windows * step + 1, bars.length);
  const series = [{ symbol, bars }];
  const results: WalkForwardWindow[] = [];
  const all: ScoredForecast[] = [];
  let model: CalibratedModel | undefined;
  let trainedThrough = '';
  try {
    for (let k = 0; k < windows; k += 1) {
      const start = firstStart + k * step;
      const split = historySplit(bars, start, start + step, config);
      let test;
      if (model === undefined || options.refit) {
        model?.model.dispose();
        model = await fitAndCalibrate(symbol, series, config, split, (p) => options.onProgress?.({ ...p, window: k + 1 }));
        trainedThrough = (bars[start - 1] as Bar).date;
        // fitAndCalibrate built the dataset of exactly this split
        test = model.dataset.test;
      } else {
        test = buildDataset(series, config.window, config.horizon, split).test;
      }
      const { forecasts } = scoreSamples(model, test);
      const evaluation = evaluateForecasts(forecasts);
      assertScalerFitBefore(model.scaler, evaluation.test_from);
      results.push({ from: split.testFrom, to: split.testTo ?? split.testFrom, trained_through: trainedThrough, evaluation, beats_naive: beatsNaive(evaluation) });
      all.push(...forecasts);
    }
  } finally {
    model?.model.dispose();
  }
  const overall = evaluateForecasts(all);
  return {
    symbol,
    backend: options.backend,
    refit: options.refit,
    step,
    windows: results,
    overall,
    beats_naive: beatsNaive(overall),
    points: nextDayForecastPoints(all),
  };
}
