import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DIR_MODE, writeFileAtomic } from '../fs/atomic-file.js';
import { mkdir } from 'node:fs/promises';
import { neutralAdaptiveState, updateAdaptiveState } from './evaluation/adaptive.js';
import type { AdaptiveIntervalState, AdaptiveRule, ModelMetadata } from './types.js';

/**
 * The served bands' adaptive conformal state kept up to date from live matured outcomes (the tracking
 * store scores a forecast when its target day's close arrives and hands it to `record`). A version's
 * state per symbol starts where its test split left it (metadata calibration.adaptive) and moves by the
 * version's own validated rule (calibration.adaptive_rule) with every outcome of a forecast it issued
 * after that split, in the order the outcomes matured. One JSON file per model version
 * (`<dir>/<key>_<version>.json`, { symbol: state }), written atomically after each batch and read on
 * first use: a restart serves the same bands as before it. Outcomes of forecasts issued on or before the
 * test split's last day are already in the metadata state (or are replays of it) and are not applied again.
 */

/** What a matured forecast step tells the adaptive state (from a tracking-store row and its outcome). */
export interface LiveOutcome {
  readonly issue_date: string;
  readonly target_date: string;
  /** 1-based step of the forecast that matured. */
  readonly horizon: number;
  readonly inside_80: boolean;
  readonly inside_95: boolean;
}

type VersionStates = Record<string, AdaptiveIntervalState>;

/** A version's adaptive rule; undefined for one saved before rules were chosen on validation, which keeps the bands it was saved with. */
export function adaptiveRuleOf(metadata: ModelMetadata): AdaptiveRule | undefined {
  return (metadata.calibration as Partial<ModelMetadata['calibration']>).adaptive_rule;
}

/** `state` moved by matured outcomes, oldest target day first (then by step), as they matured; pure. Steps must lie within the state's horizon. */
export function applyOutcomes(state: AdaptiveIntervalState, outcomes: readonly LiveOutcome[], rule: AdaptiveRule): AdaptiveIntervalState {
  const ordered = [...outcomes].sort((a, b) => (a.target_date < b.target_date ? -1 : a.target_date > b.target_date ? 1 : a.horizon - b.horizon));
  return ordered.reduce((s, o) => updateAdaptiveState(s, { step: o.horizon, covered_80: o.inside_80, covered_95: o.inside_95 }, rule), state);
}

/** One symbol's bands under one model version. */
const startId = (metadata: ModelMetadata, symbol: string): string => `${metadata.key}/${metadata.version}/${symbol}`;

export class AdaptiveBands {
  private readonly versions = new Map<string, VersionStates>();
  private writes: Promise<void> = Promise.resolve();
  /** Start states being computed, by version and symbol. */
  private readonly starting = new Map<string, Promise<void>>();
  /** Versions and symbols whose start found too little history or failed, with the last bar's date then. */
  private readonly unstarted = new Map<string, string>();

  /** `onError`: a start that failed or could not be written (the bands are served as calibrated, or from memory). */
  constructor(
    private readonly dir: string,
    private readonly onError: (error: unknown, context: { symbol: string; model: string; version: string; stage: 'start' | 'write' }) => void = () => undefined,
  ) {}

  private file(metadata: ModelMetadata): string {
    return path.join(this.dir, `${metadata.key}_${metadata.version}.json`);
  }

  /** The version's stored live states; an unreadable file counts as none (the metadata state then serves) and is replaced on the next write. */
  private statesOf(metadata: ModelMetadata): VersionStates {
    const id = `${metadata.key}/${metadata.version}`;
    let states = this.versions.get(id);
    if (states === undefined) {
      try {
        states = JSON.parse(readFileSync(this.file(metadata), 'utf8')) as VersionStates;
      } catch {
        states = {};
      }
      this.versions.set(id, states);
    }
    return states;
  }

  /** The live state of `symbol`'s bands under this version; undefined until an outcome after the test split has matured or its bands started from its own history. */
  live(metadata: ModelMetadata, symbol: string): AdaptiveIntervalState | undefined {
    return this.statesOf(metadata)[symbol];
  }

  /** The state `symbol`'s bands are served with: the live one, else the version's end-of-test-split one (undefined when it has none). */
  state(metadata: ModelMetadata, symbol: string): AdaptiveIntervalState | undefined {
    return this.live(metadata, symbol) ?? metadata.calibration.adaptive[symbol];
  }

  /**
   * Applies the outcomes of forecasts `metadata`'s version issued for `symbol` after its test split,
   * oldest target day first (steps beyond the version's horizon are ignored), and persists the state.
   * Returns how many were applied.
   */
  async record(metadata: ModelMetadata, symbol: string, outcomes: readonly LiveOutcome[]): Promise<number> {
    const live = outcomes.filter((o) => o.issue_date > metadata.evaluation.test_to && o.horizon >= 1 && o.horizon <= metadata.horizon);
    const rule = adaptiveRuleOf(metadata);
    if (live.length === 0 || rule === undefined) return 0;
    // outcomes move the symbol's start, not the bands as calibrated, when one is being computed
    await this.starting.get(startId(metadata, symbol));
    const states = this.statesOf(metadata);
    states[symbol] = applyOutcomes(this.state(metadata, symbol) ?? neutralAdaptiveState(metadata.horizon), live, rule);
    await this.persist(metadata);
    return live.length;
  }

  /**
   * For a symbol this version has no state for (its model never trained on it): computes where its bands
   * start (`start`, from the symbol's own history: bandStartFromHistory), keeps it as the live state and
   * persists it. Once per version and symbol; concurrent callers share one computation. Never fails: when
   * `start` finds too little history or throws (reported to `onError`), the bands stay as calibrated and it
   * is tried again once a newer bar (`asOf`) arrives. A failed write keeps the state in memory (reported;
   * the next write, or a recomputation after a restart, restores the file). A version saved before adaptive
   * rules existed keeps the bands it was saved with, as `record` does.
   */
  async begin(metadata: ModelMetadata, symbol: string, asOf: string, start: () => Promise<AdaptiveIntervalState | undefined>): Promise<void> {
    if (!this.needsStart(metadata, symbol, asOf)) return;
    const id = startId(metadata, symbol);
    let pending = this.starting.get(id);
    if (pending === undefined) {
      pending = this.computeStart(metadata, symbol, asOf, start).finally(() => this.starting.delete(id));
      this.starting.set(id, pending);
    }
    await pending;
  }

  /** Whether `begin` would compute a start now (cheap; lets a caller take a compute slot only then). */
  needsStart(metadata: ModelMetadata, symbol: string, asOf: string): boolean {
    return adaptiveRuleOf(metadata) !== undefined && this.state(metadata, symbol) === undefined && this.unstarted.get(startId(metadata, symbol)) !== asOf;
  }

  private async computeStart(metadata: ModelMetadata, symbol: string, asOf: string, start: () => Promise<AdaptiveIntervalState | undefined>): Promise<void> {
    let state: AdaptiveIntervalState | undefined;
    try {
      state = await start();
    } catch (error) {
      this.onError(error, { symbol, model: metadata.key, version: metadata.version, stage: 'start' });
    }
    if (state === undefined) {
      this.unstarted.set(startId(metadata, symbol), asOf);
      return;
    }
    this.statesOf(metadata)[symbol] = state;
    await this.persist(metadata).catch((error: unknown) => this.onError(error, { symbol, model: metadata.key, version: metadata.version, stage: 'write' }));
  }

  /** Writes the version's states: one write at a time, in order, so the file always holds a whole, most recent state. */
  private async persist(metadata: ModelMetadata): Promise<void> {
    const text = `${JSON.stringify(this.statesOf(metadata))}\n`;
    const file = this.file(metadata);
    this.writes = this.writes.catch(() => undefined).then(async () => {
      await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
      await writeFileAtomic(file, text);
    });
    await this.writes;
  }
}
