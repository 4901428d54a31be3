import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Bar } from '../market/bar.js';
import { neutralAdaptiveState } from './evaluation/adaptive.js';
import { OWN_HISTORY_DAYS, ownHistoryState, type OwnHistoryDay } from './calibrate.js';
import { FORECAST_EXTRA_HISTORY } from './predictor.js';
import type { AdaptiveIntervalState, Forecaster } from './types.js';

/**
 * Forecasts between two yields to the event loop: the fused pass is synchronous, and a start's few hundred
 * forecasts in one piece would hold every other request (cached ones and health checks included) for their
 * whole duration; in slices of this many each waits a few milliseconds at most.
 */
const FORECASTS_PER_SLICE = 20;

/**
 * Where a symbol's served bands start when the forecaster's model never trained on it (ownHistoryState):
 * the forecaster serves each of the symbol's last OWN_HISTORY_DAYS fully matured days from the bars up to
 * that day, exactly as it serves a request (bands as calibrated, no adaptive state), and each forecast is
 * scored against the closes that followed. Undefined when the bars hold too few such days.
 */
export async function bandStartFromHistory(forecaster: Forecaster, bars: readonly Bar[]): Promise<AdaptiveIntervalState | undefined> {
  const { horizon } = forecaster.metadata;
  const unadapted = { adaptive: neutralAdaptiveState(horizon) };
  // a forecast reads only this many of the last bars (predictor.ts), so older ones need not be copied for each day
  const reads = forecaster.requiredBars + FORECAST_EXTRA_HISTORY;
  const lastDay = bars.length - 1;
  const days: OwnHistoryDay[] = [];
  for (let t = Math.max(forecaster.requiredBars - 1, lastDay - horizon - OWN_HISTORY_DAYS + 1); t + horizon <= lastDay; t += 1) {
    if (days.length > 0 && days.length % FORECASTS_PER_SLICE === 0) await yieldToEventLoop();
    const { current_price: current, points } = await forecaster.forecast(bars.slice(Math.max(0, t + 1 - reads), t + 1), horizon, unadapted);
    days.push({
      served: points.map((p) => Math.log(p.price / current)),
      // bands are symmetric around the served price in log terms
      w80: points.map((p) => Math.log(p.upper_80 / p.price)),
      w95: points.map((p) => Math.log(p.upper_95 / p.price)),
      actual: points.map((_, h) => Math.log((bars[t + h + 1] as Bar).adjClose / current)),
    });
  }
  return ownHistoryState(days, horizon, (bars[lastDay] as Bar | undefined)?.date ?? '');
}
