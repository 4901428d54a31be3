import { DataValidationError } from '../errors.js';
import type { Bar } from '../market/bar.js';

/**
 * Technical features of a daily price series. Every function is causal: the value at index t
 * uses inputs at indices <= t only, and is NaN until enough history exists.
 * Prices are adjusted closes so splits and dividends do not look like crashes.
 */

export const VOLATILITY_WINDOW = 20;
export const MA_SHORT = 10;
export const MA_LONG = 50;
export const RSI_PERIOD = 14;
export const MACD_FAST = 12;
export const MACD_SLOW = 26;
export const MACD_SIGNAL = 9;
export const VOLUME_WINDOW = 20;
/** Days of history in the moving-average baseline forecast. */
export const BASELINE_MA_WINDOW = 20;

export const FEATURE_NAMES = [
  'log_return',
  'volatility_20',
  'log_price_ma_10',
  'log_price_ma_50',
  'rsi_14',
  'macd_line_over_price',
  'macd_histogram_over_price',
  'log_volume_over_ma_20',
] as const;

/** Index of the first bar at which every feature is defined; earlier rows are dropped. */
export const FEATURE_WARMUP = Math.max(
  VOLATILITY_WINDOW, // needs VOLATILITY_WINDOW returns, the first return is at index 1
  MA_LONG - 1,
  RSI_PERIOD,
  MACD_SLOW - 1 + MACD_SIGNAL - 1,
  VOLUME_WINDOW - 1,
);

export function logReturns(prices: readonly number[]): number[] {
  return prices.map((p, t) => (t === 0 ? Number.NaN : Math.log(p / (prices[t - 1] as number))));
}

/** Sample standard deviation (n - 1) of the last `n` values; NaN if any of them is NaN. */
export function rollingStd(values: readonly number[], n: number): number[] {
  return values.map((_, t) => {
    if (t < n - 1) return Number.NaN;
    const slice = values.slice(t - n + 1, t + 1);
    if (slice.some(Number.isNaN)) return Number.NaN;
    const mean = slice.reduce((s, v) => s + v, 0) / n;
    return Math.sqrt(slice.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  });
}

export function simpleMovingAverage(values: readonly number[], n: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let t = 0; t < values.length; t += 1) {
    sum += values[t] as number;
    if (t >= n) sum -= values[t - n] as number;
    out.push(t >= n - 1 ? sum / n : Number.NaN);
  }
  return out;
}

/**
 * Exponential moving average with alpha = 2 / (n + 1), seeded with the simple average of the
 * first n defined values (the usual charting convention). Leading NaNs in the input are skipped.
 */
export function exponentialMovingAverage(values: readonly number[], n: number): number[] {
  const alpha = 2 / (n + 1);
  const out: number[] = new Array<number>(values.length).fill(Number.NaN);
  const first = values.findIndex((v) => !Number.isNaN(v));
  if (first < 0 || first + n > values.length) return out;
  let ema = values.slice(first, first + n).reduce((s, v) => s + v, 0) / n;
  out[first + n - 1] = ema;
  for (let t = first + n; t < values.length; t += 1) {
    ema = alpha * (values[t] as number) + (1 - alpha) * ema;
    out[t] = ema;
  }
  return out;
}

/** Log of price over its n-day simple moving average: > 0 above the average. */
export function logPriceOverMovingAverage(prices: readonly number[], n: number): number[] {
  const ma = simpleMovingAverage(prices, n);
  return prices.map((p, t) => Math.log(p / (ma[t] as number)));
}

/** RSI from the average gain and loss; flat prices are 50, no losses 100. */
export function rsiOf(avgGain: number, avgLoss: number): number {
  return avgLoss === 0 ? (avgGain === 0 ? 50 : 100) : 100 - 100 / (1 + avgGain / avgLoss);
}

/** Wilder's RSI: first average = simple mean of `period` gains/losses, then smoothed with 1/period. */
export function relativeStrengthIndex(prices: readonly number[], period = RSI_PERIOD): number[] {
  const out: number[] = new Array<number>(prices.length).fill(Number.NaN);
  if (prices.length <= period) return out;
  let avgGain = 0;
  let avgLoss = 0;
  for (let t = 1; t <= period; t += 1) {
    const change = (prices[t] as number) - (prices[t - 1] as number);
    avgGain += Math.max(change, 0) / period;
    avgLoss += Math.max(-change, 0) / period;
  }
  const rsi = (): number => rsiOf(avgGain, avgLoss);
  out[period] = rsi();
  for (let t = period + 1; t < prices.length; t += 1) {
    const change = (prices[t] as number) - (prices[t - 1] as number);
    avgGain = (avgGain * (period - 1) + Math.max(change, 0)) / period;
    avgLoss = (avgLoss * (period - 1) + Math.max(-change, 0)) / period;
    out[t] = rsi();
  }
  return out;
}

export interface Macd {
  readonly line: number[];
  readonly signal: number[];
  readonly histogram: number[];
}

export function macd(prices: readonly number[], fast = MACD_FAST, slow = MACD_SLOW, signalPeriod = MACD_SIGNAL): Macd {
  const emaFast = exponentialMovingAverage(prices, fast);
  const emaSlow = exponentialMovingAverage(prices, slow);
  const line = prices.map((_, t) => (emaFast[t] as number) - (emaSlow[t] as number));
  const signal = exponentialMovingAverage(line, signalPeriod);
  const histogram = line.map((v, t) => v - (signal[t] as number));
  return { line, signal, histogram };
}

/** log((1 + volume) / (1 + mean volume of the last n days)); the +1 keeps zero-volume days finite. */
export function logVolumeOverAverage(volumes: readonly number[], n = VOLUME_WINDOW): number[] {
  const ma = simpleMovingAverage(volumes, n);
  return volumes.map((v, t) => Math.log((1 + v) / (1 + (ma[t] as number))));
}

/** Feature columns for every bar (NaN during warm-up), in FEATURE_NAMES order. */
export function featureColumns(bars: readonly Bar[]): number[][] {
  const prices = bars.map((b) => b.adjClose);
  const returns = logReturns(prices);
  const { line, histogram } = macd(prices);
  return [
    returns,
    rollingStd(returns, VOLATILITY_WINDOW),
    logPriceOverMovingAverage(prices, MA_SHORT),
    logPriceOverMovingAverage(prices, MA_LONG),
    relativeStrengthIndex(prices),
    line.map((v, t) => v / (prices[t] as number)),
    histogram.map((v, t) => v / (prices[t] as number)),
    logVolumeOverAverage(bars.map((b) => b.volume)),
  ];
}

/** Features of one series, one row per bar from FEATURE_WARMUP on (row i is bar FEATURE_WARMUP + i). */
export interface FeatureMatrix {
  readonly names: readonly string[];
  /** Index in the bars of the first row. */
  readonly offset: number;
  readonly rows: readonly (readonly number[])[];
}

export function buildFeatureMatrix(bars: readonly Bar[]): FeatureMatrix {
  const columns = featureColumns(bars);
  const rows: number[][] = [];
  for (let t = FEATURE_WARMUP; t < bars.length; t += 1) {
    const row = columns.map((c) => c[t] as number);
    if (!row.every(Number.isFinite)) {
      throw new DataValidationError(`features for ${bars[t]?.date ?? t} are not finite (non-positive price or volume?)`);
    }
    rows.push(row);
  }
  return { names: FEATURE_NAMES, offset: FEATURE_WARMUP, rows };
}
