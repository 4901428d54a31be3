import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { yahooFixturesDir } from './paths.js';

/**
 * The recorded Yahoo chart responses (test/fixtures/yahoo, see SOURCES.md) and the transforms that derive
 * "earlier" and "later" answers from them (documented in test/fixtures/yahoo/DERIVED.md): no bar is invented,
 * only cut off or rescaled as Yahoo itself rescales adjusted history.
 */
export const RECORDED = {
  AAPL: 'chart_AAPL_1d_2020-08-31_2020-11-06.json',
  NVDA: 'chart_NVDA_1d_2021-02-01_2022-01-28.json',
  MSFT: 'chart_MSFT_1d_2021-02-01_2022-01-28.json',
  notFound: 'chart_error_404_not_found.json',
} as const;

export function readRecorded(name: keyof typeof RECORDED): Promise<string> {
  return readFile(path.join(yahooFixturesDir, RECORDED[name]), 'utf8');
}

interface ChartBody {
  chart: { result: ChartResult[] };
}
interface ChartResult {
  meta: Record<string, unknown>;
  timestamp: number[];
  indicators: { quote: Record<string, (number | null)[]>[]; adjclose: { adjclose: (number | null)[] }[] };
}

function edit(body: string, change: (result: ChartResult) => void): string {
  const parsed = JSON.parse(body) as ChartBody;
  const result = parsed.chart.result[0];
  if (result === undefined) throw new Error('fixture has no result');
  change(result);
  return JSON.stringify(parsed);
}

/** The answer as it was after the first `bars` sessions: every series cut after that many bars. */
export function firstBars(body: string, bars: number): string {
  return barsBetween(body, 0, bars);
}

/** The window of sessions `from` (inclusive) to `to` (exclusive), as a period-bounded request returns it. */
export function barsBetween(body: string, from: number, to: number): string {
  return edit(body, (result) => {
    result.timestamp = result.timestamp.slice(from, to);
    for (const quote of result.indicators.quote) for (const key of Object.keys(quote)) quote[key] = (quote[key] ?? []).slice(from, to);
    for (const adj of result.indicators.adjclose) adj.adjclose = adj.adjclose.slice(from, to);
  });
}

/** The answer after a dividend: Yahoo rescales every earlier adjusted close by one factor (raw prices stay). */
export function rebased(body: string, factor: number): string {
  return edit(body, (result) => {
    for (const adj of result.indicators.adjclose) adj.adjclose = adj.adjclose.map((value) => (value === null ? null : value * factor));
  });
}

/** The same bars under another ticker (a symbol no model and no stored history knows). */
export function renamed(body: string, symbol: string): string {
  return edit(body, (result) => {
    result.meta['symbol'] = symbol;
  });
}
