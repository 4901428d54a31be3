import { gunzipSync, gzipSync } from 'node:zlib';
import type { ScoredForecast } from './evaluate.js';

/**
 * Every step of every held-out forecast, as served: what the pooled 1..horizon figures of the evaluation
 * are computed from. test_forecasts.json holds prices at the reported steps only (1, 5, 20, 60), so
 * these are stored beside it, compactly: per forecast the served and the network's cumulative log
 * returns and the 80 % / 95 % band half-widths, for the steps whose day realised inside the test split,
 * as integers in units of PATH_UNIT log return, each step stored as its difference from the previous
 * step (paths move smoothly, so the differences are short numbers), gzipped. Together with the closes
 * of the CSV they reproduce every pooled coverage and interval score without the pipeline: the value
 * at step h is the sum of the first h integers × PATH_UNIT, and its price previous close × exp(value).
 */

/** 1e-7 log return: rounding moves a band edge by at most 5e-8 of the price, far below a cent. */
export const PATH_UNIT = 1e-7;
export const TEST_PATHS_FORMAT = 1;

/** One forecast: its first target day (as in test_forecasts.json) and per realised step the integer differences. */
export interface TestPath {
  readonly date: string;
  readonly served: readonly number[];
  readonly raw: readonly number[];
  readonly w80: readonly number[];
  readonly w95: readonly number[];
}

export interface TestPaths {
  readonly format: typeof TEST_PATHS_FORMAT;
  readonly unit: number;
  /** By upper-case symbol, oldest forecast first. */
  readonly symbols: Readonly<Record<string, readonly TestPath[]>>;
}

/** The stored path of one held-out forecast: the steps up to the last one whose day realised. */
export function testPathOf(forecast: ScoredForecast): TestPath {
  let steps = forecast.actual.length;
  while (steps > 0 && Number.isNaN(forecast.actual[steps - 1])) steps -= 1;
  const units = (values: readonly number[]): number[] => {
    const rounded = values.slice(0, steps).map((v) => Math.round(v / PATH_UNIT));
    return rounded.map((v, h) => v - (h === 0 ? 0 : (rounded[h - 1] as number)));
  };
  return { date: forecast.date, served: units(forecast.predicted), raw: units(forecast.raw), w80: units(forecast.w80), w95: units(forecast.w95) };
}

export function encodeTestPaths(symbols: Readonly<Record<string, readonly TestPath[]>>): Buffer {
  const paths: TestPaths = { format: TEST_PATHS_FORMAT, unit: PATH_UNIT, symbols };
  return gzipSync(JSON.stringify(paths), { level: 9 });
}

export function decodeTestPaths(bytes: Buffer): TestPaths {
  const paths = JSON.parse(gunzipSync(bytes).toString('utf8')) as TestPaths;
  if (paths.format !== TEST_PATHS_FORMAT) throw new RangeError(`test paths of format ${String(paths.format)}, expected ${TEST_PATHS_FORMAT}`);
  return paths;
}
