import { createHash } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs';
import type { Bar } from '../../market/bar.js';
import { InsufficientBarsError } from '../errors.js';
import { buildDataset, chronologicalSplitDates, fitDatasetScaler, unseenSeriesSamples, type Dataset, type Sample, type SeriesInput, type SplitDates } from '../dataset.js';
import { applyCalibration, fitCalibration, OWN_HISTORY_DAYS, ownHistoryState, serveSequentially, trailingReturns, type SequencedDay } from '../calibrate.js';
import { baseRate } from '../evaluation/calibration.js';
import { horizonVariances, RISKMETRICS } from '../evaluation/volatility.js';
import { beatsNaive, evaluateForecasts, nextDayForecastPoints, type ScoredForecast } from '../evaluation/evaluate.js';
import { testPathOf, type TestPath } from '../evaluation/test-paths.js';
import { FEATURE_NAMES, FEATURE_WARMUP } from '../features.js';
import { buildLstmModel } from '../lstm.js';
import { assertScalerFitBefore, type ScalerState } from '../scaler.js';
import type { AdaptiveIntervalState, Calibration, Evaluation, ModelMetadata, TestForecasts, TrainingConfig, TrainingProgress } from '../types.js';
import type { VolatilityHead } from '../volatility-head/head.js';
import { trainVolatilityHead, type TrainedVolatilityHead } from '../volatility-head/train.js';
import { fitNetwork, predictSamples, type FitResult } from './fit.js';

export interface TrainingInput {
  /** Model key: lower-case symbol, or GLOBAL_MODEL_KEY. */
  readonly key: string;
  readonly series: readonly SeriesInput[];
  readonly config: TrainingConfig;
  /** The backend that runs (from selectBackend), recorded in the metadata. */
  readonly backend: string;
  /** Where the bars came from (provider name), recorded in the metadata. */
  readonly dataSource: string;
  /**
   * Series the model never sees (leave-symbols-out evaluation): after training, each is scored on its
   * own days of the test split, served exactly as the service serves a symbol it has no model for.
   */
  readonly unseen?: readonly SeriesInput[];
  readonly onProgress?: (progress: TrainingProgress) => void;
}

export interface TrainedModel {
  readonly model: tf.LayersModel;
  readonly scaler: ScalerState;
  readonly metadata: Omit<ModelMetadata, 'version' | 'scaler_sha256'>;
  /** The test-split next-day forecasts the evaluation was computed from, by symbol (kept out of the metadata: hundreds of points). */
  readonly testForecasts?: TestForecasts;
  /** Every step of the same forecasts (test-paths.ts), by symbol. */
  readonly testPaths?: Readonly<Record<string, readonly TestPath[]>>;
  /** The LSTM volatility head trained on the training split (saved as files of the version whether or not it was chosen). */
  readonly volatilityHead?: TrainedVolatilityHead;
  /** How each of TrainingInput.unseen fared on the test split, by symbol. */
  readonly unseen?: Readonly<Record<string, UnseenEvaluation>>;
}

/** A series the model never trained on, scored on the model's test split. */
export interface UnseenEvaluation {
  /** Served as the service serves it: bands started from its own history before the test split (`band_start`). */
  readonly evaluation: Evaluation;
  /** The same days with the bands as calibrated (no start), to show what the start changes. */
  readonly as_calibrated: Evaluation;
  /** Where its bands started (ownHistoryState); absent with too little history before the test split. */
  readonly band_start?: AdaptiveIntervalState;
}

/** The held-out forecasts stored with a version: next-day points (test_forecasts.json) and every step (test_paths.json.gz). */
export interface HeldOutRecords {
  readonly testForecasts: TestForecasts;
  readonly testPaths: Readonly<Record<string, readonly TestPath[]>>;
}

/** A model fitted on the train split and calibrated on the validation split of `dataset`. */
export interface CalibratedModel {
  readonly model: tf.LayersModel;
  readonly scaler: ScalerState;
  readonly dataset: Dataset;
  readonly calibration: Omit<Calibration, 'adaptive'>;
  readonly fit: FitResult;
  readonly volatilityHead: TrainedVolatilityHead;
}

/** The last `maxBars` bars of each series (0 = all). */
function limitBars(series: readonly SeriesInput[], maxBars: number): SeriesInput[] {
  return series.map((s) => ({ symbol: s.symbol, bars: maxBars > 0 ? s.bars.slice(-maxBars) : s.bars }));
}

/**
 * The calibration of a network from its raw forecasts of the dataset's training and validation samples
 * (fitCalibration: every choice on training or validation days). Shared by trained and imported networks;
 * only trained ones bring a volatility head.
 */
export function calibrateOnDataset(
  dataset: Dataset,
  trainingPredicted: readonly (readonly number[])[],
  validationPredicted: readonly (readonly number[])[],
  head?: VolatilityHead,
): Omit<Calibration, 'adaptive'> {
  const training = sequencedDays(dataset.train, trainingPredicted);
  const validation = sequencedDays(dataset.validation, validationPredicted);
  const days = (bySymbol: typeof training, symbol: string) => (bySymbol.get(symbol) ?? []).map((d) => d.day);
  return fitCalibration(
    [...new Set([...training.keys(), ...validation.keys()])].map((symbol) => ({ training: days(training, symbol), validation: days(validation, symbol) })),
    baseRate([...dataset.train, ...dataset.validation].map((s) => s.targets[0] as number)),
    head,
  );
}

/** Samples with their raw predictions as held-out days, per symbol in date order, each with its sample index. */
function sequencedDays(samples: readonly Sample[], predicted: readonly (readonly number[])[]): Map<string, { index: number; day: SequencedDay }[]> {
  const bySymbol = new Map<string, { index: number; day: SequencedDay }[]>();
  samples.forEach((s, index) => {
    const day = { day: s.row, raw: predicted[index] as readonly number[], returns: trailingReturns(s.featureRows, s.row), actual: s.targets };
    bySymbol.set(s.symbol, [...(bySymbol.get(s.symbol) ?? []), { index, day }]);
  });
  for (const days of bySymbol.values()) days.sort((a, b) => a.day.day - b.day.day);
  return bySymbol;
}

/** Builds the samples, fits scaler, network and volatility head on the train split, calibrates on validation. */
export async function fitAndCalibrate(
  key: string,
  series: readonly SeriesInput[],
  config: TrainingConfig,
  split: SplitDates,
  onProgress?: (progress: TrainingProgress) => void,
): Promise<CalibratedModel> {
  const dataset = buildDataset(series, config.window, config.horizon, split);
  const scaler = fitDatasetScaler(dataset);
  const model = buildLstmModel({ ...config, features: dataset.featureNames.length });
  try {
    const fit = await fitNetwork(model, dataset, scaler, config, (report) => {
      const perEpoch = report.seconds;
      onProgress?.({
        key,
        epoch: report.epoch,
        epochs: config.epochs,
        loss: report.loss,
        val_loss: report.val_loss,
        // An upper bound: early stopping may end the run sooner.
        eta_seconds: perEpoch * (config.epochs - report.epoch),
      });
    });
    const volatilityHead = await trainVolatilityHead(
      dataset.train.map((s) => ({ returns: trailingReturns(s.featureRows, s.row), actual: s.targets })),
      config.horizon,
      config.seed,
      config.epochs,
    );
    const predict = (samples: readonly Sample[]): number[][] => predictSamples(model, samples, config.window, scaler);
    const calibration = calibrateOnDataset(dataset, predict(dataset.train), predict(dataset.validation), volatilityHead.head);
    return { model, scaler, dataset, calibration, fit, volatilityHead };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** Held-out forecasts of `calibrated` for `samples`, served as scoredForecasts describes. */
export function scoreSamples(calibrated: CalibratedModel, samples: readonly Sample[]): { forecasts: ScoredForecast[]; adaptive: Record<string, AdaptiveIntervalState> } {
  return scoredForecasts(samples, predictSamples(calibrated.model, samples, calibrated.dataset.window, calibrated.scaler), calibrated.calibration, calibrated.volatilityHead.head);
}

/**
 * Where the bands of a series the model never trained on start (ownHistoryState): its own matured days
 * before the test split (`history`), served by the model as calibrated, scored against what happened;
 * `asOf`: the day before the test split (the first test forecast's day).
 */
function ownHistoryStart(calibrated: CalibratedModel, history: readonly Sample[], asOf: string): AdaptiveIntervalState | undefined {
  const raw = predictSamples(calibrated.model, history, calibrated.dataset.window, calibrated.scaler);
  const serving = { ...calibrated.calibration, volatilityHead: calibrated.volatilityHead.head };
  const days = history.map((s, i) => ({ ...applyCalibration(serving, raw[i] as readonly number[], trailingReturns(s.featureRows, s.row)), actual: s.targets }));
  return ownHistoryState(days, calibrated.dataset.horizon, asOf);
}

/**
 * Samples with a network's raw predicted cumulative log returns (one row per sample), ready for
 * evaluateForecasts, each served as it would have been that day: series by series in date order, with
 * the adaptive band state (from `start`'s for its symbol, if any) updated by the outcomes matured by then.
 * Also returns each series' adaptive state once all its outcomes have matured (where serving starts). With a volatility head, its
 * forecasts are scored beside EWMA's and GARCH's whether or not it was chosen.
 */
export function scoredForecasts(
  samples: readonly Sample[],
  predicted: readonly (readonly number[])[],
  calibration: Omit<Calibration, 'adaptive'>,
  head?: VolatilityHead,
  start?: Readonly<Record<string, AdaptiveIntervalState>>,
): { forecasts: ScoredForecast[]; adaptive: Record<string, AdaptiveIntervalState> } {
  const horizon = calibration.shrinkage.length;
  const forecasts: ScoredForecast[] = new Array<ScoredForecast>(samples.length);
  const adaptive: Record<string, AdaptiveIntervalState> = {};
  for (const [symbol, days] of sequencedDays(samples, predicted)) {
    const { outputs, final } = serveSequentially({ ...calibration, volatilityHead: head }, days.map((d) => d.day), start?.[symbol]);
    adaptive[symbol] = final;
    days.forEach(({ index, day }, k) => {
      const s = samples[index] as Sample;
      const output = outputs[k] as (typeof outputs)[number];
      forecasts[index] = {
        date: s.nextDate,
        lastPrice: s.lastPrice,
        driftPerDay: s.driftPerDay,
        movingAverage: s.movingAverage,
        predicted: output.served,
        raw: output.raw,
        actual: s.targets,
        w80: output.w80,
        w95: output.w95,
        variance: output.volatility.map((v) => v * v),
        ewmaVariance: horizonVariances(RISKMETRICS, day.returns, horizon),
        garchVariance: horizonVariances(calibration.volatility_selection.garch, day.returns, horizon),
        ...(head === undefined ? {} : { headVariance: head.variances(day.returns, horizon) }),
        volatilityModel: calibration.volatility.kind,
        probabilityUp: output.probabilityUp,
        baseRate: calibration.direction.base_rate,
      };
    });
  }
  return { forecasts, adaptive };
}

/** What is stored of scored test samples, grouped by the samples' symbols, oldest first: the next-day forecast points and every step's path. */
export function testRecordsBySymbol(samples: readonly Sample[], scored: readonly ScoredForecast[]): HeldOutRecords {
  const bySymbol: Record<string, ScoredForecast[]> = {};
  samples.forEach((s, i) => (bySymbol[s.symbol] ??= []).push(scored[i] as ScoredForecast));
  const testForecasts: Record<string, ReturnType<typeof nextDayForecastPoints>> = {};
  const testPaths: Record<string, TestPath[]> = {};
  for (const [symbol, forecasts] of Object.entries(bySymbol)) {
    const ordered = [...forecasts].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    testForecasts[symbol] = nextDayForecastPoints(ordered);
    testPaths[symbol] = ordered.filter((f) => !Number.isNaN(f.actual[0])).map(testPathOf);
  }
  return { testForecasts, testPaths };
}

/** sha256 over the exact bars used, symbol by symbol in symbol order. */
export function barsChecksum(series: readonly SeriesInput[]): string {
  const hash = createHash('sha256');
  for (const s of [...series].sort((a, b) => (a.symbol < b.symbol ? -1 : 1))) {
    hash.update(`${s.symbol}\n`);
    for (const b of s.bars) hash.update(`${b.date},${b.open},${b.high},${b.low},${b.close},${b.adjClose},${b.volume}\n`);
  }
  return hash.digest('hex');
}

export function dataRange(series: readonly SeriesInput[]): { from: string; to: string; bars: number } {
  const bars: Bar[] = series.flatMap((s) => [...s.bars]);
  const dates = bars.map((b) => b.date).sort();
  return { from: dates[0] ?? '', to: dates.at(-1) ?? '', bars: bars.length };
}

/**
 * The test-split samples of each unseen series, on the model's split dates and ending where the model's own
 * data ends (the same calendar days as its own test split). Built before training, so a series that cannot
 * be scored fails at once, not after minutes of training.
 */
function unseenTestSamples(unseen: readonly SeriesInput[], config: TrainingConfig, split: SplitDates): { symbol: string; test: readonly Sample[]; history: readonly Sample[] }[] {
  return unseen.map((s) => {
    const { test, matured } = unseenSeriesSamples(s, config.window, config.horizon, split);
    if (test.length === 0) {
      const inTest = s.bars.filter((b) => b.date >= split.testFrom && b.date <= (split.testTo ?? b.date)).length;
      throw new InsufficientBarsError(`${s.symbol}: scoring it unseen on the test split ${split.testFrom}..${split.testTo ?? ''} (window ${config.window} + feature warm-up before it)`, 1 + config.window + FEATURE_WARMUP, inTest);
    }
    return { symbol: s.symbol, test, history: matured.slice(-OWN_HISTORY_DAYS) };
  });
}

/**
 * Trains one model (one symbol, or several for the global model) on a chronological
 * train/validation/test split, calibrates intervals and direction confidence on validation and
 * scores the test split against the naive and other baselines. The test split is never seen by
 * the network, the scaler or the calibration.
 */
export async function trainModel(input: TrainingInput): Promise<TrainedModel> {
  const { config } = input;
  if (input.series.length === 0) throw new InsufficientBarsError(`${input.key}: no series to train on`, 1, 0);
  const series = limitBars(input.series, config.maxBars);
  const split = chronologicalSplitDates(series, config.trainFraction, config.validationFraction);
  const unseen = unseenTestSamples(limitBars(input.unseen ?? [], config.maxBars), config, { ...split, testTo: dataRange(series).to });
  const started = performance.now();
  const calibrated = await fitAndCalibrate(input.key, series, config, split, input.onProgress);
  try {
    const { dataset } = calibrated;
    if (dataset.test.length === 0) {
      throw new InsufficientBarsError(`${input.key}: no test samples after the ${config.horizon}-day purge`, 0, dataRange(series).bars);
    }
    const { forecasts: scored, adaptive } = scoreSamples(calibrated, dataset.test);
    const evaluation = evaluateForecasts(scored);
    assertScalerFitBefore(calibrated.scaler, evaluation.test_from);
    const unseenResults = Object.fromEntries(
      unseen.map((u): [string, UnseenEvaluation] => {
        const start = ownHistoryStart(calibrated, u.history, (u.test[0] as Sample).date);
        // the network's forecasts of the test days once; only the bands' start differs between the two scores
        const predicted = predictSamples(calibrated.model, u.test, config.window, calibrated.scaler);
        const score = (from?: AdaptiveIntervalState) =>
          evaluateForecasts(scoredForecasts(u.test, predicted, calibrated.calibration, calibrated.volatilityHead.head, from === undefined ? undefined : { [u.symbol]: from }).forecasts);
        return [u.symbol, { evaluation: score(start), as_calibrated: score(), ...(start === undefined ? {} : { band_start: start }) }];
      }),
    );
    const trainSeconds = (performance.now() - started) / 1000;
    return {
      model: calibrated.model,
      scaler: calibrated.scaler,
      metadata: {
        key: input.key,
        symbols: series.map((s) => s.symbol),
        name: `${input.key}_lstm_model`,
        trained_at: new Date().toISOString(),
        window: config.window,
        horizon: config.horizon,
        features: [...FEATURE_NAMES],
        backend: input.backend,
        config,
        data: { ...dataRange(series), sha256: barsChecksum(series), source: input.dataSource },
        evaluation,
        beats_naive: beatsNaive(evaluation),
        calibration: { ...calibrated.calibration, adaptive },
        timings: {
          train_seconds: trainSeconds,
          epochs_run: calibrated.fit.epochsRun,
          best_epoch: calibrated.fit.bestEpoch,
          samples_per_second: calibrated.fit.samplesPerSecond,
          volatility_head_seconds: calibrated.volatilityHead.seconds,
        },
      },
      ...testRecordsBySymbol(dataset.test, scored),
      volatilityHead: calibrated.volatilityHead,
      ...(input.unseen === undefined ? {} : { unseen: unseenResults }),
    };
  } catch (error) {
    calibrated.model.dispose();
    throw error;
  }
}
