import uPlot from 'uplot';
import { dayToUnixSeconds, price, ratio, share } from './format.js';
import type { ReliabilityBin, TrackedForecast, TrendDay } from './types.js';

const COLORS = {
  backfilled: '#c2410c',
  live: '#15803d',
  band80: 'rgba(234, 88, 12, 0.28)',
  band95: 'rgba(234, 88, 12, 0.12)',
  actual: '#1f4e99',
  reference: '#4b5563',
  observed: '#7c3aed',
};

type Column = (number | null)[];

/**
 * The forecast shown for each target day: the latest issued one (highest id) when several model versions
 * forecast the same day. Sorted by target day.
 */
export function latestPerTarget(rows: readonly TrackedForecast[]): TrackedForecast[] {
  const byTarget = new Map<string, TrackedForecast>();
  for (const row of rows) {
    const seen = byTarget.get(row.target_date);
    if (seen === undefined || row.id > seen.id) byTarget.set(row.target_date, row);
  }
  return [...byTarget.values()].sort((a, b) => (a.target_date < b.target_date ? -1 : a.target_date > b.target_date ? 1 : 0));
}

/** Columns: backfilled forecast, live forecast, 80% upper/lower, 95% upper/lower, actual close, per target day. */
export function alignIssued(rows: readonly TrackedForecast[]): uPlot.AlignedData {
  const xs = rows.map((r) => dayToUnixSeconds(r.target_date));
  const column = (value: (r: TrackedForecast) => number | null): Column => rows.map(value);
  return [
    xs,
    column((r) => (r.backfilled ? r.predicted_price : null)),
    column((r) => (r.backfilled ? null : r.predicted_price)),
    column((r) => r.upper_80),
    column((r) => r.lower_80),
    column((r) => r.upper_95),
    column((r) => r.lower_95),
    column((r) => r.actual_close),
  ];
}

const dateValue = (_self: uPlot, ts: number | null) => (ts === null ? '–' : new Date(ts * 1000).toISOString().slice(0, 10));
const priceValue = (_self: uPlot, value: number | null) => (value === null ? '–' : price(value));
const edge = (label: string, stroke: string): uPlot.Series => ({ label, stroke, width: 0, points: { show: false }, value: priceValue });
const utc = (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');

export function issuedOptions(width: number, height: number): uPlot.Options {
  return {
    width,
    height,
    tzDate: utc,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    axes: [{}, { label: 'Price', size: 60 }],
    series: [
      { label: 'Target day', value: dateValue },
      { label: 'Forecast as issued (backfill replay)', stroke: COLORS.backfilled, width: 1.5, value: priceValue, spanGaps: false },
      {
        label: 'Forecast as issued (live)',
        stroke: COLORS.live,
        width: 2,
        value: priceValue,
        spanGaps: false,
        points: { show: true, size: 7, fill: COLORS.live },
      },
      edge('80% upper', COLORS.band80),
      edge('80% lower', COLORS.band80),
      edge('95% upper', COLORS.band95),
      edge('95% lower', COLORS.band95),
      { label: 'Actual close', stroke: COLORS.actual, width: 1.5, value: priceValue, points: { show: true, size: 3, fill: COLORS.actual } },
    ],
    bands: [
      { series: [5, 6], fill: COLORS.band95 },
      { series: [3, 4], fill: COLORS.band80 },
    ],
  };
}

/** Columns: rolling MAE ratio, and the naive forecast's level (1) as reference. */
export function alignRolling(days: readonly TrendDay[]): uPlot.AlignedData {
  return [days.map((d) => dayToUnixSeconds(d.date)), days.map((d) => d.rolling_mae_ratio), days.map(() => 1)];
}

export function rollingOptions(window: number) {
  return (width: number, height: number): uPlot.Options => ({
    width,
    height,
    tzDate: utc,
    scales: { x: { time: true } },
    axes: [{}, { label: 'MAE ÷ naive MAE', size: 60 }],
    series: [
      { label: 'Target day', value: dateValue },
      { label: `Rolling MAE ratio (${window} target days)`, stroke: COLORS.backfilled, width: 2, value: (_s, v) => (v === null ? '–' : ratio(v)) },
      { label: 'Naive forecast (1)', stroke: COLORS.reference, width: 1, dash: [6, 4], value: () => '1' },
    ],
  });
}

/**
 * Columns over the bins' mean confidence, from 0 to 1: observed hit rate (at the bins only), perfect calibration
 * (y = x) and the constant that always says the overall hit rate, both drawn across the whole axis.
 */
export function alignReliability(bins: readonly ReliabilityBin[], hitRate: number | null): uPlot.AlignedData {
  const xs = [0, ...bins.map((b) => b.mean_confidence), 1];
  return [xs, [null, ...bins.map((b) => b.observed_hit_rate), null], xs, xs.map(() => hitRate)];
}

export function reliabilityOptions(width: number, height: number): uPlot.Options {
  const shareValue = (_self: uPlot, value: number | null) => (value === null ? '–' : share(value));
  return {
    width,
    height,
    scales: { x: { time: false }, y: { range: [0, 1] } },
    axes: [
      { label: 'Predicted: mean confidence of the bin', values: (_self, ticks) => ticks.map((t) => share(t, 0)) },
      { label: 'Observed: direction right', size: 60, values: (_self, ticks) => ticks.map((t) => share(t, 0)) },
    ],
    series: [
      { label: 'Mean confidence', value: shareValue },
      { label: 'Observed hit rate', stroke: COLORS.observed, width: 1, value: shareValue, points: { show: true, size: 8, fill: COLORS.observed } },
      { label: 'Perfectly calibrated', stroke: COLORS.reference, width: 1, dash: [6, 4], value: shareValue, points: { show: false } },
      { label: 'Constant (overall hit rate)', stroke: COLORS.actual, width: 1, dash: [2, 3], value: shareValue, points: { show: false } },
    ],
  };
}
