import { DataValidationError } from '../errors.js';
import type { Bar } from '../market/bar.js';
import {
  FEATURE_NAMES,
  FEATURE_WARMUP,
  MA_LONG,
  MA_SHORT,
  MACD_FAST,
  MACD_SIGNAL,
  MACD_SLOW,
  RSI_PERIOD,
  rsiOf,
  VOLATILITY_WINDOW,
  VOLUME_WINDOW,
} from './features.js';

const mean = (values: ArrayLike<number>, from: number, to: number): number => {
  let sum = 0;
  for (let i = from; i < to; i += 1) sum += values[i] as number;
  return sum / (to - from);
};

/**
 * The feature rows of the last `rows` bars only — what a forecast's window needs — with the same numbers as
 * `buildFeatureMatrix(bars).rows.slice(-rows)` (to rounding, < 1e-12). Moving averages and the volatility are
 * computed for those rows alone; the recursive features (MACD's EMAs, Wilder's RSI) still run from the first
 * bar given, because their values depend on where the recursion starts (that is why the forecaster passes a fixed
 * tail), but as scalar loops that keep nothing per bar. On the serving path this replaces ~10 arrays of a few
 * hundred values and ~300 row arrays per request with 30 rows.
 */
export function buildFeatureWindow(bars: readonly Bar[], rows: number): number[][] {
  const n = bars.length;
  const start = n - rows;
  if (!Number.isInteger(rows) || rows < 1 || start < FEATURE_WARMUP) {
    throw new RangeError(`a window of ${rows} feature rows needs at least ${rows + FEATURE_WARMUP} bars, got ${n}`);
  }
  const prices = new Float64Array(n);
  for (let t = 0; t < n; t += 1) prices[t] = (bars[t] as Bar).adjClose;
  const out: number[][] = Array.from({ length: rows }, () => new Array<number>(FEATURE_NAMES.length));

  // MACD: EMAs seeded with the simple mean of their first n prices, the signal with the mean of its first
  // MACD_SIGNAL lines (as exponentialMovingAverage does).
  const fastAlpha = 2 / (MACD_FAST + 1);
  const slowAlpha = 2 / (MACD_SLOW + 1);
  const signalAlpha = 2 / (MACD_SIGNAL + 1);
  let fast = mean(prices, 0, MACD_FAST);
  for (let t = MACD_FAST; t < MACD_SLOW; t += 1) fast = fastAlpha * (prices[t] as number) + (1 - fastAlpha) * fast;
  let slow = mean(prices, 0, MACD_SLOW);
  const firstLine = MACD_SLOW - 1;
  let signalSeed = 0;
  let signal = Number.NaN;
  for (let t = firstLine; t < n; t += 1) {
    const price = prices[t] as number;
    if (t > firstLine) {
      fast = fastAlpha * price + (1 - fastAlpha) * fast;
      slow = slowAlpha * price + (1 - slowAlpha) * slow;
    }
    const line = fast - slow;
    if (t < firstLine + MACD_SIGNAL) {
      signalSeed += line;
      if (t === firstLine + MACD_SIGNAL - 1) signal = signalSeed / MACD_SIGNAL;
    } else {
      signal = signalAlpha * line + (1 - signalAlpha) * signal;
    }
    if (t >= start) {
      const row = out[t - start] as number[];
      row[5] = line / price;
      row[6] = (line - signal) / price;
    }
  }

  // RSI: simple mean of the first RSI_PERIOD changes, then Wilder smoothing.
  let avgGain = 0;
  let avgLoss = 0;
  for (let t = 1; t < n; t += 1) {
    const change = (prices[t] as number) - (prices[t - 1] as number);
    if (t <= RSI_PERIOD) {
      avgGain += Math.max(change, 0) / RSI_PERIOD;
      avgLoss += Math.max(-change, 0) / RSI_PERIOD;
    } else {
      avgGain = (avgGain * (RSI_PERIOD - 1) + Math.max(change, 0)) / RSI_PERIOD;
      avgLoss = (avgLoss * (RSI_PERIOD - 1) + Math.max(-change, 0)) / RSI_PERIOD;
    }
    if (t >= start) (out[t - start] as number[])[4] = rsiOf(avgGain, avgLoss);
  }

  // The log returns the rows' volatilities read, each computed once (returns[k] is bar first + k's), rather than
  // VOLATILITY_WINDOW logarithms per row.
  const first = start - VOLATILITY_WINDOW + 1;
  const returns = new Float64Array(n - first);
  for (let t = first; t < n; t += 1) returns[t - first] = Math.log((prices[t] as number) / (prices[t - 1] as number));
  for (let t = start; t < n; t += 1) {
    const row = out[t - start] as number[];
    const price = prices[t] as number;
    const from = t - first - VOLATILITY_WINDOW + 1;
    const m = mean(returns, from, from + VOLATILITY_WINDOW);
    let squares = 0;
    for (let k = from; k < from + VOLATILITY_WINDOW; k += 1) squares += ((returns[k] as number) - m) ** 2;
    row[0] = returns[t - first] as number;
    row[1] = Math.sqrt(squares / (VOLATILITY_WINDOW - 1));
    row[2] = Math.log(price / mean(prices, t - MA_SHORT + 1, t + 1));
    row[3] = Math.log(price / mean(prices, t - MA_LONG + 1, t + 1));
    let volumes = 0;
    for (let i = t - VOLUME_WINDOW + 1; i <= t; i += 1) volumes += (bars[i] as Bar).volume;
    row[7] = Math.log((1 + (bars[t] as Bar).volume) / (1 + volumes / VOLUME_WINDOW));
    if (!row.every(Number.isFinite)) {
      throw new DataValidationError(`features for ${bars[t]?.date ?? t} are not finite (non-positive price or volume?)`);
    }
  }
  return out;
}
