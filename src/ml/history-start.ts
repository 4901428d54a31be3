import type { Bar } from '../market/bar.js';
import { neutralAdaptiveState } from './evaluation/adaptive.js';
import { OWN_HISTORY_DAYS, ownHistoryState, type OwnHistoryDay } from './calibrate.js';
import type { AdaptiveIntervalState, Forecaster } from './types.js';

/**
 * Where a symbol's served bands start when the forecaster's model never trained on it (ownHistoryState):
 * the forecaster serves each of the symbol's last OWN_HISTORY_DAYS fully matured days from the bars up to
 * that day, exactly as it serves a request (bands as calibrated, no adaptive state), and each forecast is
 * scored against the closes that followed. Undefined when the bars hold too few such days.
 */
export async function bandStartFromHistory(forecaster: Forecaster, bars: readonly Bar[]): Promise<AdaptiveIntervalState | undefined> {
  const { horizon } = forecaster.metadata;
  const unadapted = { adaptive: neutralAdaptiveState(horizon) };
  const lastDay = bars.length - 1;
  const days: OwnHistoryDay[] = [];
  for (let t = Math.max(forecaster.requiredBars - 1, lastDay - horizon - OWN_HISTORY_DAYS + 1); t + horizon <= lastDay; t += 1) {
    const { current_price: current, points } = await forecaster.forecast(bars.slice(0, t + 1), horizon, unadapted);
    days.push({
      served: points.map((p) => Math.log(p.price / current)),
      // bands are symmetric around the served price in log terms
      w80: points.map((p) => Math.log(p.upper_80 / p.price)),
      w95: points.map((p) => Math.log(p.upper_95 / p.price)),
      actual: points.map((_, h) => Math.log((bars[t + h + 1] as Bar).adjClose / current)),
    });
  }
  return ownHistoryState(days, horizon);
}
