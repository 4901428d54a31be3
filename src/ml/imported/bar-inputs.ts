import type { Bar } from '../../market/bar.js';

/**
 * The bar columns an imported network may take as inputs. Prices are split- and dividend-adjusted,
 * as the original system's yfinance history was (auto_adjust): `close` is the adjusted close the
 * service forecasts, and open/high/low are adjusted by the same factor.
 */
export const BAR_INPUTS = ['close', 'open', 'high', 'low', 'volume'] as const;
export type BarInput = (typeof BAR_INPUTS)[number];

/** The column the network's output predicts (one day ahead). */
export const TARGET_INPUT: BarInput = 'close';

export function isBarInput(name: string): name is BarInput {
  return (BAR_INPUTS as readonly string[]).includes(name);
}

export function barValue(bar: Bar, input: string): number {
  const factor = bar.close > 0 ? bar.adjClose / bar.close : 1;
  switch (input) {
    case 'close':
      return bar.adjClose;
    case 'open':
      return bar.open * factor;
    case 'high':
      return bar.high * factor;
    case 'low':
      return bar.low * factor;
    case 'volume':
      return bar.volume;
    default:
      throw new TypeError(`unknown model input column ${JSON.stringify(input)} (known: ${BAR_INPUTS.join(', ')})`);
  }
}
