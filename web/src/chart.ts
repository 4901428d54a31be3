import uPlot from 'uplot';
import { dayToUnixSeconds, price, tradingDate } from './format.js';
import { createPlot } from './plot.js';
import type { HistoricalBar, Prediction, TestForecastPoint } from './types.js';

const COLORS = {
  history: '#1f4e99',
  forecast: '#c2410c',
  band80: 'rgba(234, 88, 12, 0.28)',
  band95: 'rgba(234, 88, 12, 0.12)',
  naive: '#4b5563',
  heldOutPredicted: '#7c3aed',
  heldOutActual: '#0f766e',
  rawNetwork: '#db2777',
};

/** Held-out test days that fall inside the history shown (the chart never widens the range for them). */
export function visibleTestForecasts(history: readonly HistoricalBar[], points: readonly TestForecastPoint[]): TestForecastPoint[] {
  const first = history[0];
  const last = history[history.length - 1];
  if (first === undefined || last === undefined) return [];
  const from = tradingDate(first.timestamp);
  const to = tradingDate(last.timestamp);
  return points.filter((p) => p.date >= from && p.date <= to);
}

type Column = (number | null)[];

/**
 * Lines up history and forecast on one time axis (uPlot wants one x array and a column per series,
 * null where a series has no value). The forecast line starts at the last close the prediction used
 * (`current_price` on `as_of`) so it visibly continues the history; bands start on the first forecast day.
 * Held-out test days (already limited to the visible range) add the model's next-day prediction and the
 * actual close of each day. The raw network's path is drawn beside the served one, which calibration may have
 * pulled to the naive forecast, so what the network said is never hidden.
 */
export function alignSeries(history: readonly HistoricalBar[], prediction: Prediction | null, heldOut: readonly TestForecastPoint[] = []): uPlot.AlignedData {
  const rows = new Map<number, Column>();
  const WIDTH = 10; // close, forecast, upper80, lower80, upper95, lower95, naive, held-out predicted, held-out actual, raw network
  const row = (date: string): Column => {
    const x = dayToUnixSeconds(date);
    let existing = rows.get(x);
    if (existing === undefined) {
      existing = new Array<number | null>(WIDTH).fill(null);
      rows.set(x, existing);
    }
    return existing;
  };
  for (const bar of history) row(bar.timestamp)[0] = bar.close;
  if (prediction !== null) {
    const anchor = row(prediction.as_of);
    anchor[1] = prediction.current_price;
    anchor[6] = prediction.baseline.predicted_price;
    anchor[9] = prediction.current_price;
    for (const point of prediction.forecast) {
      const r = row(point.date);
      r[1] = point.price;
      r[2] = point.upper_80;
      r[3] = point.lower_80;
      r[4] = point.upper_95;
      r[5] = point.lower_95;
      // The naive (random-walk) forecast is the same price for every day ahead.
      r[6] = prediction.baseline.predicted_price;
      r[9] = point.lstm_price ?? null;
    }
  }
  for (const point of heldOut) {
    const r = row(point.date);
    r[7] = point.predicted;
    r[8] = point.actual;
  }
  const xs = [...rows.keys()].sort((a, b) => a - b);
  const columns: Column[] = Array.from({ length: WIDTH }, (_, i) => xs.map((x) => rows.get(x)?.[i] ?? null));
  return [xs, ...columns];
}

function options(width: number, height: number): uPlot.Options {
  const legendValue = (_self: uPlot, value: number | null) => (value === null ? '–' : price(value));
  const bandEdge = (label: string, stroke: string): uPlot.Series => ({
    label,
    stroke,
    width: 0,
    points: { show: false },
    value: legendValue,
  });
  return {
    width,
    height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    axes: [{}, { label: 'Price', size: 60 }],
    series: [
      { label: 'Date', value: (_self, ts: number | null) => (ts === null ? '–' : new Date(ts * 1000).toISOString().slice(0, 10)) },
      { label: 'Close (history)', stroke: COLORS.history, width: 1.5, value: legendValue, spanGaps: false },
      { label: 'Served forecast (calibrated)', stroke: COLORS.forecast, width: 2, value: legendValue, points: { show: true, size: 4 } },
      bandEdge('80% upper', COLORS.band80),
      bandEdge('80% lower', COLORS.band80),
      bandEdge('95% upper', COLORS.band95),
      bandEdge('95% lower', COLORS.band95),
      { label: 'Naive (last close)', stroke: COLORS.naive, width: 1.5, dash: [6, 4], value: legendValue },
      {
        label: 'Held-out test predictions (served, next day)',
        stroke: COLORS.heldOutPredicted,
        width: 1.5,
        value: legendValue,
        points: { show: true, size: 4, fill: COLORS.heldOutPredicted },
      },
      {
        label: 'Held-out test: actual close',
        stroke: COLORS.heldOutActual,
        value: legendValue,
        // Markers only: the history line already joins the closes.
        paths: () => null,
        points: { show: true, size: 5, fill: COLORS.heldOutActual },
      },
      { label: 'Raw network (LSTM)', stroke: COLORS.rawNetwork, width: 1.5, dash: [2, 3], value: legendValue },
    ],
    bands: [
      { series: [5, 6], fill: COLORS.band95 },
      { series: [3, 4], fill: COLORS.band80 },
    ],
  };
}

/** The price chart in `container`. */
export function createPriceChart(container: HTMLElement) {
  const plot = createPlot(container, { narrow: 260, wide: 380 });
  return {
    draw(history: readonly HistoricalBar[], prediction: Prediction | null, heldOut: readonly TestForecastPoint[] = []): void {
      plot.draw(options, alignSeries(history, prediction, heldOut));
    },
    clear: plot.clear,
  };
}

/** Text alternative for the chart, built from the same API values. */
export function describeChart(history: readonly HistoricalBar[], prediction: Prediction | null, heldOut: readonly TestForecastPoint[] = []): string {
  const first = history[0];
  const last = history[history.length - 1];
  const parts: string[] = [];
  if (first !== undefined && last !== undefined) {
    parts.push(
      `History: ${history.length} daily closes from ${tradingDate(first.timestamp)} (${price(first.close)}) to ${tradingDate(last.timestamp)} (${price(last.close)}).`,
    );
  } else {
    parts.push('No history in this range.');
  }
  const end = prediction?.forecast[prediction.forecast.length - 1];
  if (prediction !== null && end !== undefined) {
    parts.push(
      `Forecast: ${prediction.forecast.length} trading day(s) from ${prediction.as_of} (last close ${price(prediction.current_price)}) to ${end.date} at ${price(end.price)}, 80% interval ${price(end.lower_80)}–${price(end.upper_80)}, 95% interval ${price(end.lower_95)}–${price(end.upper_95)}; naive forecast ${price(prediction.baseline.predicted_price)}${end.lstm_price === undefined ? '' : `; the raw network said ${price(end.lstm_price)}`}.`,
    );
  }
  const firstTest = heldOut[0];
  const lastTest = heldOut[heldOut.length - 1];
  if (firstTest !== undefined && lastTest !== undefined) {
    parts.push(
      `Held-out test predictions: ${heldOut.length} day(s) the model never trained on, from ${firstTest.date} (predicted ${price(firstTest.predicted)}, actual ${price(firstTest.actual)}) to ${lastTest.date} (predicted ${price(lastTest.predicted)}, actual ${price(lastTest.actual)}).`,
    );
  }
  return parts.join(' ');
}
