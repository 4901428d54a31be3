/** What the page shows, kept in the URL hash so a view can be bookmarked and shared. */
export interface ViewState {
  readonly symbol: string;
  readonly horizon: number;
  readonly range: number;
}

export const HORIZON_MIN = 1;
export const HORIZON_MAX = 60;
/** The contract's symbol rule, applied after upper-casing. */
export const SYMBOL_PATTERN = /^[A-Z][A-Z0-9.\-]{0,9}$/;

export function normaliseSymbol(input: string): string {
  return input.trim().toUpperCase();
}

export function symbolProblem(symbol: string): string | null {
  if (symbol === '') return 'Enter a symbol.';
  return SYMBOL_PATTERN.test(symbol) ? null : `"${symbol}" is not a valid symbol: a letter, then up to 9 letters, digits, dots or dashes.`;
}

export function horizonProblem(value: number): string | null {
  return Number.isInteger(value) && value >= HORIZON_MIN && value <= HORIZON_MAX
    ? null
    : `The horizon must be a whole number of trading days from ${HORIZON_MIN} to ${HORIZON_MAX}.`;
}

export function readHash(hash: string): Partial<ViewState> {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const symbol = params.get('symbol');
  const horizon = Number(params.get('days'));
  const range = Number(params.get('range'));
  return {
    ...(symbol !== null && symbolProblem(normaliseSymbol(symbol)) === null ? { symbol: normaliseSymbol(symbol) } : {}),
    ...(horizonProblem(horizon) === null ? { horizon } : {}),
    ...(Number.isInteger(range) && range > 0 ? { range } : {}),
  };
}

export function writeHash(state: ViewState): string {
  return `#${new URLSearchParams({ symbol: state.symbol, days: String(state.horizon), range: String(state.range) }).toString()}`;
}
