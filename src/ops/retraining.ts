/** Which symbols need a new model: a pure function of what the store and the data say. */

export interface RetrainPolicy {
  readonly force: boolean;
  readonly maxAgeDays: number;
  /** Retrain when at least this many bars arrived after the model's last training bar. */
  readonly minNewBars: number;
  /** The skill trigger: retrain when the current version's live MAE ratio to naive exceeds `maxMaeRatio` over `minMatured` forecasts. */
  readonly live?: { readonly maxMaeRatio: number; readonly minMatured: number } | undefined;
}

export interface SymbolState {
  readonly symbol: string;
  /** The current model, or undefined when the symbol has none (or it is unreadable). */
  readonly model?: { readonly version: string; readonly trainedAt: string; readonly dataTo: string } | undefined;
  readonly modelError?: string | undefined;
  /** Date of the last bar available for the symbol, undefined without data. */
  readonly lastBar?: string | undefined;
  /** Bars dated after the model's data range. */
  readonly newBars: number;
  /** The current version's live (not backfilled) tracked forecasts that have matured, from the tracking store. */
  readonly live?: { readonly matured: number; readonly maeRatio: number | null } | undefined;
}

export interface RetrainDecision {
  readonly symbol: string;
  readonly retrain: boolean;
  readonly reason: string;
}

const DAY_MS = 86_400_000;

export function decideRetraining(state: SymbolState, policy: RetrainPolicy, now: Date): RetrainDecision {
  const { symbol } = state;
  if (state.lastBar === undefined) return { symbol, retrain: false, reason: 'no market data to train on' };
  if (state.model === undefined) {
    return { symbol, retrain: true, reason: state.modelError === undefined ? 'no model yet' : `current model unreadable: ${state.modelError}` };
  }
  if (policy.force) return { symbol, retrain: true, reason: 'forced' };
  const ageDays = (now.getTime() - Date.parse(state.model.trainedAt)) / DAY_MS;
  if (!Number.isFinite(ageDays)) return { symbol, retrain: true, reason: `model ${state.model.version} has no valid trained_at` };
  if (ageDays > policy.maxAgeDays) {
    return { symbol, retrain: true, reason: `model ${state.model.version} is ${ageDays.toFixed(1)} days old (> ${policy.maxAgeDays})` };
  }
  if (state.newBars >= policy.minNewBars) {
    return { symbol, retrain: true, reason: `${state.newBars} new bars since the model's data ended on ${state.model.dataTo} (>= ${policy.minNewBars})` };
  }
  const { live } = state;
  if (policy.live && live && live.maeRatio !== null && live.matured >= policy.live.minMatured && live.maeRatio > policy.live.maxMaeRatio) {
    return {
      symbol,
      retrain: true,
      reason: `model ${state.model.version} decayed: live MAE ratio to naive ${live.maeRatio.toFixed(3)} over ${live.matured} matured forecasts (> ${policy.live.maxMaeRatio})`,
    };
  }
  return { symbol, retrain: false, reason: `model ${state.model.version} is ${ageDays.toFixed(1)} days old, ${state.newBars} new bars: up to date` };
}

/** Bars strictly after `dataTo` in an ascending list of ISO dates. */
export function countNewBars(dates: readonly string[], dataTo: string): number {
  let count = 0;
  for (let i = dates.length - 1; i >= 0 && (dates[i] ?? '') > dataTo; i -= 1) count += 1;
  return count;
}
