/** One trading day of prices. `date` is the exchange-local trading date, ISO `YYYY-MM-DD`. */
export interface Bar {
  readonly date: string;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  /** Split- and dividend-adjusted close; models are trained and served on this series. */
  readonly adjClose: number;
  readonly volume: number;
}

/** Symbols as the contract accepts them, after upper-casing. */
export const SYMBOL_PATTERN = /^[A-Z][A-Z0-9.\-]{0,9}$/;
