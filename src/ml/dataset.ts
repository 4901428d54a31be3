import * as tf from '@tensorflow/tfjs';
import type { Bar } from '../market/bar.js';
import { InsufficientBarsError } from './errors.js';
import { BASELINE_MA_WINDOW, buildFeatureMatrix, FEATURE_NAMES, FEATURE_WARMUP } from './features.js';
import { fitScaler, scaleTargets, type ScalerState } from './scaler.js';

/**
 * Supervised samples: a window of feature rows ending on day t → the cumulative log returns of the
 * adjusted close from t to t+1 .. t+horizon. Every split owns a range of TARGET days; a sample goes
 * to a split only if the target days it is scored on lie inside it, so no day's price is learned in
 * one split and scored in another (samples straddling a boundary are purged).
 */

export interface Sample {
  readonly symbol: string;
  /** Day t: the window's last bar, the day the forecast is made. */
  readonly date: string;
  /** Day t + 1: the headline (next-day) target day. */
  readonly nextDate: string;
  /** Adjusted close on day t; prices are rebuilt from it. */
  readonly lastPrice: number;
  /** Baselines from bars up to t only: average daily log return since the first bar (drift) ... */
  readonly driftPerDay: number;
  /** ... and the mean adjusted close of the last BASELINE_MA_WINDOW days. */
  readonly movingAverage: number;
  /** The series' unscaled feature rows (shared) and the row of day t. */
  readonly featureRows: readonly (readonly number[])[];
  readonly row: number;
  /** Cumulative log returns for steps 1..horizon; NaN where the day lies beyond the split's data. */
  readonly targets: readonly number[];
}

export interface SplitSamples {
  readonly train: readonly Sample[];
  readonly validation: readonly Sample[];
  readonly test: readonly Sample[];
}

/** Target-day boundaries as dates: [.., validationFrom) train, [validationFrom, testFrom) validation, [testFrom, testTo] test. */
export interface SplitDates {
  readonly validationFrom: string;
  readonly testFrom: string;
  /** Last target day of the test split (inclusive); the series' last date when omitted. */
  readonly testTo?: string;
}

export interface Dataset extends SplitSamples {
  readonly window: number;
  readonly horizon: number;
  readonly featureNames: readonly string[];
  /** Feature rows of training days only: what the scaler may see. */
  readonly scalerRows: readonly (readonly number[])[];
  readonly trainFrom: string;
  readonly trainTo: string;
}

export interface SeriesInput {
  readonly symbol: string;
  readonly bars: readonly Bar[];
}

/** Split dates cutting the union of all series' trading days by fraction. */
export function chronologicalSplitDates(
  series: readonly SeriesInput[],
  trainFraction: number,
  validationFraction: number,
): SplitDates {
  const dates = [...new Set(series.flatMap((s) => s.bars.map((b) => b.date)))].sort();
  const at = (fraction: number): string => dates[Math.min(dates.length - 1, Math.floor(dates.length * fraction))] ?? '';
  return { validationFrom: at(trainFraction), testFrom: at(trainFraction + validationFraction) };
}

function firstIndexOnOrAfter(bars: readonly Bar[], date: string): number {
  const i = bars.findIndex((b) => b.date >= date);
  return i < 0 ? bars.length : i;
}

interface SeriesSamples extends SplitSamples {
  readonly scalerRows: readonly (readonly number[])[];
  /** First and last training day; undefined when the series starts after the training period. */
  readonly trainFrom: string | undefined;
  readonly trainTo: string | undefined;
}

/** Samples of one series, split at the given target-day dates. */
function buildSeriesSamples(input: SeriesInput, window: number, horizon: number, split: SplitDates): SeriesSamples {
  const { symbol, bars } = input;
  const minimum = FEATURE_WARMUP + window + horizon;
  if (bars.length < minimum) throw new InsufficientBarsError(`${symbol}: window ${window} + horizon ${horizon} + feature warm-up ${FEATURE_WARMUP}`, minimum, bars.length);
  const matrix = buildFeatureMatrix(bars);
  const validationStart = firstIndexOnOrAfter(bars, split.validationFrom);
  const testStart = firstIndexOnOrAfter(bars, split.testFrom);
  const testTo = split.testTo;
  const testEnd = testTo === undefined ? bars.length : bars.filter((b) => b.date <= testTo).length;
  const prices = bars.map((b) => b.adjClose);
  const first = prices[0] as number;

  const train: Sample[] = [];
  const validation: Sample[] = [];
  const test: Sample[] = [];
  let maSum = 0;
  for (let t = 0; t < bars.length - 1; t += 1) {
    maSum += prices[t] as number;
    if (t >= BASELINE_MA_WINDOW) maSum -= prices[t - BASELINE_MA_WINDOW] as number;
    if (t < FEATURE_WARMUP + window - 1) continue;
    const next = t + 1;
    const last = t + horizon;
    let bucket: Sample[] | undefined;
    let end = last;
    if (last < validationStart) bucket = train;
    else if (next >= validationStart && last < testStart) bucket = validation;
    else if (next >= testStart && next < testEnd) {
      bucket = test;
      end = Math.min(last, testEnd - 1);
    }
    if (bucket === undefined) continue;
    const lastPrice = prices[t] as number;
    const targets = Array.from({ length: horizon }, (_, k) => (t + k + 1 <= end ? Math.log((prices[t + k + 1] as number) / lastPrice) : Number.NaN));
    bucket.push({
      symbol,
      date: (bars[t] as Bar).date,
      nextDate: (bars[next] as Bar).date,
      lastPrice,
      driftPerDay: t === 0 ? 0 : Math.log(lastPrice / first) / t,
      movingAverage: maSum / Math.min(t + 1, BASELINE_MA_WINDOW),
      featureRows: matrix.rows,
      row: t - matrix.offset,
      targets,
    });
  }
  const hasTrainingDays = validationStart > matrix.offset;
  return {
    train,
    validation,
    test,
    scalerRows: hasTrainingDays ? matrix.rows.slice(0, validationStart - matrix.offset) : [],
    trainFrom: hasTrainingDays ? bars[matrix.offset]?.date : undefined,
    trainTo: hasTrainingDays ? bars[validationStart - 1]?.date : undefined,
  };
}

/**
 * One series scored by a model that never saw it: its test-split samples, and every sample before them
 * whose targets have all closed by the test split (`matured`, oldest first: the days a forecast on the
 * split's eve could have scored, its own history). One pass over the series' features.
 */
export function unseenSeriesSamples(series: SeriesInput, window: number, horizon: number, split: SplitDates): { test: readonly Sample[]; matured: readonly Sample[] } {
  // one validation split from the first bar to the test split: its samples are exactly those whose last target precedes it
  const { test, validation } = buildSeriesSamples(series, window, horizon, { ...split, validationFrom: series.bars[0]?.date ?? split.testFrom });
  return { test, matured: validation };
}

/** Builds each series on the same calendar split, then concatenates each split (global model input). */
export function buildDataset(series: readonly SeriesInput[], window: number, horizon: number, split: SplitDates): Dataset {
  const parts = series.map((s) => buildSeriesSamples(s, window, horizon, split));
  const dataset: Dataset = {
    window,
    horizon,
    featureNames: FEATURE_NAMES,
    train: parts.flatMap((p) => p.train),
    validation: parts.flatMap((p) => p.validation),
    test: parts.flatMap((p) => p.test),
    scalerRows: parts.flatMap((p) => p.scalerRows),
    trainFrom: parts.flatMap((p) => p.trainFrom ?? []).sort()[0] ?? '',
    trainTo: parts.flatMap((p) => p.trainTo ?? []).sort().at(-1) ?? '',
  };
  if (dataset.train.length === 0 || dataset.validation.length === 0) {
    const available = Math.min(...series.map((s) => s.bars.length));
    throw new InsufficientBarsError(
      `too little history for a training and a validation split with window ${window} and horizon ${horizon}` +
        ` (train ${dataset.train.length}, validation ${dataset.validation.length} samples)`,
      FEATURE_WARMUP + window + 3 * horizon,
      available,
    );
  }
  return dataset;
}

/** Fits the scaler on the training split only. */
export function fitDatasetScaler(dataset: Dataset): ScalerState {
  return fitScaler({
    featureNames: dataset.featureNames,
    featureRows: dataset.scalerRows,
    targetRows: dataset.train.map((s) => s.targets),
    fitFrom: dataset.trainFrom,
    fitTo: dataset.trainTo,
  });
}

/** [samples, window, features] tensor of scaled inputs. */
export function inputTensor(samples: readonly Sample[], window: number, scaler: ScalerState): tf.Tensor3D {
  const width = scaler.feature_names.length;
  const data = new Float32Array(samples.length * window * width);
  let k = 0;
  for (const sample of samples) {
    for (let r = sample.row - window + 1; r <= sample.row; r += 1) {
      const row = sample.featureRows[r] as readonly number[];
      for (let j = 0; j < width; j += 1) data[k++] = ((row[j] as number) - (scaler.feature_mean[j] as number)) / (scaler.feature_std[j] as number);
    }
  }
  return tf.tensor3d(data, [samples.length, window, width]);
}

/** [samples, horizon] tensor of scaled targets (training and validation samples have no NaN). */
export function targetTensor(samples: readonly Sample[], scaler: ScalerState): tf.Tensor2D {
  return tf.tensor2d(samples.map((s) => scaleTargets(scaler, s.targets)));
}
