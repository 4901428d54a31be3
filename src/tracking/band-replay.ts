import type { Bar } from '../market/bar.js';
import { adaptiveRuleOf, applyOutcomes, type LiveOutcome } from '../ml/adaptive-bands.js';
import { neutralAdaptiveState } from '../ml/evaluation/adaptive.js';
import { bandStartFromHistory } from '../ml/history-start.js';
import type { AdaptiveIntervalState, AdaptiveRule, Forecaster } from '../ml/types.js';
import { barsKnownAt } from './daily-run.js';
import { scoreForecast } from './scoring.js';
import type { IssuedForecast } from './store.js';

/**
 * The adaptive band state a backfill serves each past day with, so that a replay's bands on a day rest on nothing
 * that happened later. The version's stored states will not do: they hold outcomes up to the end of its test split
 * and everything tracked since. On the first replayed day it starts (startState):
 * - as calibrated when that day lies within the version's test split or before it (the split's state on that day
 *   is not stored), so a replay's bands depend on where it starts, never on a later close;
 * - the version's end-of-test-split state when it lies after;
 * - for a symbol the model never trained on, the start from the symbol's own history before that day, as the
 *   service starts it (bandStartFromHistory).
 * Every replayed forecast's outcome then moves it by the version's rule once its target day has closed, so the
 * forecasts issued at or after that close see it.
 */
export class BandReplay {
  private pending: LiveOutcome[] = [];

  private constructor(
    private state: AdaptiveIntervalState,
    private readonly rule: AdaptiveRule,
    private readonly closes: ReadonlyMap<string, number>,
  ) {}

  /** Undefined for a version saved before adaptive rules existed: the backfill serves it the bands it was saved with. */
  static async start(forecaster: Forecaster, symbol: string, bars: readonly Bar[], firstDay: string): Promise<BandReplay | undefined> {
    const { metadata } = forecaster;
    const rule = adaptiveRuleOf(metadata);
    if (rule === undefined) return undefined;
    const start = (await startState(forecaster, symbol, bars, firstDay)) ?? neutralAdaptiveState(metadata.horizon);
    return new BandReplay(start, rule, new Map(bars.map((b) => [b.date, b.adjClose])));
  }

  /** The state for the forecasts issued at the close of `day`: every replayed outcome whose target day closed by then applied. */
  at(day: string): AdaptiveIntervalState {
    const due = this.pending.filter((o) => o.target_date <= day);
    if (due.length > 0) {
      this.state = applyOutcomes(this.state, due, this.rule);
      this.pending = this.pending.filter((o) => o.target_date > day);
    }
    return this.state;
  }

  /** Queues the outcomes of a day's replayed forecasts, scored as the store scores them; a target day without a close (an unscheduled closure) never counts. */
  issued(rows: readonly IssuedForecast[]): void {
    for (const row of rows) {
      const actual = this.closes.get(row.target_date);
      if (actual === undefined) continue;
      const { inside_80, inside_95 } = scoreForecast(row, actual);
      this.pending.push({ issue_date: row.issue_date, target_date: row.target_date, horizon: row.horizon, inside_80, inside_95 });
    }
  }
}

/** Where the replay's bands start on `firstDay` (see BandReplay); undefined: as calibrated. */
async function startState(forecaster: Forecaster, symbol: string, bars: readonly Bar[], firstDay: string): Promise<AdaptiveIntervalState | undefined> {
  const { metadata } = forecaster;
  if (!metadata.symbols.includes(symbol)) return bandStartFromHistory(forecaster, barsKnownAt(bars, firstDay));
  return firstDay > metadata.evaluation.test_to ? metadata.calibration.adaptive[symbol] : undefined;
}
