/**
 * Display formatting. Every function shows the value it is given (rounded for reading) or says it is
 * missing; none computes a new figure.
 */

export const MISSING = 'not reported';

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

export function price(value: number | null | undefined): string {
  return isNumber(value) ? value.toFixed(2) : MISSING;
}

/** A 0..1 share shown as a percentage. */
export function share(value: number | null | undefined, digits = 1): string {
  return isNumber(value) ? `${(value * 100).toFixed(digits)}%` : MISSING;
}

/** A value that is already a percentage (e.g. `predicted_change_pct`). */
export function percent(value: number | null | undefined): string {
  if (!isNumber(value)) return MISSING;
  return `${value > 0 ? '+' : ''}${value.toFixed(2)}%`;
}

export function ratio(value: number | null | undefined): string {
  return isNumber(value) ? value.toFixed(3) : MISSING;
}

/** A p-value as "p = 0.39" (three decimals below 0.01, "p < 0.001" below that). */
export function pValue(value: number | null | undefined): string {
  if (!isNumber(value)) return MISSING;
  if (value < 0.001) return 'p < 0.001';
  return `p = ${value.toFixed(value < 0.01 ? 3 : 2)}`;
}

export function integer(value: number | null | undefined): string {
  return isNumber(value) ? Math.round(value).toLocaleString('en-US') : MISSING;
}

/** Any scalar from the API (stats, health), shown without reinterpretation. */
export function scalar(value: unknown): string {
  if (isNumber(value)) return Number.isInteger(value) ? value.toLocaleString('en-US') : String(Number(value.toFixed(4)));
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value === null || value === undefined) return MISSING;
  return JSON.stringify(value);
}

/** ISO timestamp shown as `YYYY-MM-DD HH:MM UTC`, or the date alone when there is no time part. */
export function dateTime(value: string | null | undefined): string {
  if (value === undefined || value === null || value === '') return MISSING;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) return value;
  return `${parsed.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Trading date `YYYY-MM-DD` from an ISO date or timestamp. */
export function tradingDate(value: string): string {
  return value.slice(0, 10);
}

/** Unix seconds at UTC midnight of a trading date: the x value the chart uses. */
export function dayToUnixSeconds(value: string): number {
  return Date.parse(`${tradingDate(value)}T00:00:00Z`) / 1000;
}

/** A score with four decimals (Brier scores, whose differences are small). */
export function score(value: number | null | undefined): string {
  return isNumber(value) ? value.toFixed(4) : MISSING;
}
