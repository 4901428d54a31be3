import { ValidationError } from '../errors.js';
import type { Bar } from './bar.js';
import type { BarQuery } from './provider.js';

/**
 * Checks shared by every provider, so a CSV file and a Yahoo response are held to the same rules.
 * Each returns a sentence describing the problem, or undefined when the bar is fine; the caller
 * adds where the bar came from (file and line, or symbol and index) and throws DataValidationError.
 */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar date written as `YYYY-MM-DD` (rejects 2021-02-30 and the like). */
export function isIsoDate(value: string): boolean {
  const match = ISO_DATE.exec(value);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Day 0 of the next month is the last day of this one (leap years included).
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Problems within one bar: prices must be finite and > 0, volume finite and >= 0,
 * and high >= low. Open and close outside [low, high] are not checked: adjusted series
 * from real vendors occasionally round an open a cent past the range, and models here
 * use close, high and low only.
 */
export function barProblem(bar: Bar): string | undefined {
  if (!isIsoDate(bar.date)) return `invalid date "${bar.date}" (expected YYYY-MM-DD)`;
  for (const field of ['open', 'high', 'low', 'close', 'adjClose'] as const) {
    const value = bar[field];
    if (!Number.isFinite(value)) return `${field} is not a number`;
    if (value <= 0) return `${field} must be positive, got ${value}`;
  }
  if (!Number.isFinite(bar.volume) || bar.volume < 0) return `volume must be a non-negative number, got ${bar.volume}`;
  if (bar.high < bar.low) return `high ${bar.high} is below low ${bar.low}`;
  return undefined;
}

/** Problems between consecutive bars: dates must strictly increase (no duplicates, no reordering). */
export function orderProblem(previous: Bar | undefined, bar: Bar): string | undefined {
  if (previous === undefined) return undefined;
  if (bar.date === previous.date) return `duplicate date ${bar.date}`;
  if (bar.date < previous.date) return `date ${bar.date} is out of order (after ${previous.date}); bars must be sorted ascending`;
  return undefined;
}

/** Bars inside the optional inclusive ISO date range; `bars` must be sorted by date (as validated bars are). */
export function barsInRange(bars: readonly Bar[], from?: string, to?: string): Bar[] {
  const start = from === undefined ? 0 : firstIndexWhere(bars, (bar) => bar.date >= from);
  const end = to === undefined ? bars.length : firstIndexWhere(bars, (bar) => bar.date > to);
  return bars.slice(start, Math.max(start, end));
}

/** Binary search: the first index whose bar satisfies a predicate that is false, then true, along the array. */
function firstIndexWhere(bars: readonly Bar[], predicate: (bar: Bar) => boolean): number {
  let low = 0;
  let high = bars.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const bar = bars[middle];
    if (bar !== undefined && predicate(bar)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** A query's dates must be real ISO dates; a malformed one is the caller's error (400), not "no data". */
export function checkQuery(query: BarQuery): void {
  for (const [name, value] of [['from', query.from], ['to', query.to]] as const) {
    if (value !== undefined && !isIsoDate(value)) throw new ValidationError(`${name} must be a date YYYY-MM-DD, got "${value}"`, { [name]: value });
  }
}

/** Prices rebuilt from a ratio (adjustment factors) are kept to 6 decimals, as vendors publish them. */
export function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
