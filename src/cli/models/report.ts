import { defaultRuleOf, sameRule } from '../../ml/calibrate.js';
import type { AdaptiveIntervalState, BandRule, BandSelection, Evaluation, HorizonScore, IntervalWindow, ModelMetadata } from '../../ml/types.js';
import { num, table } from './table.js';

/** One row of the evaluation table: a model's test split, or one window of a walk-forward backtest. */
export interface EvaluationRow {
  readonly label: string;
  readonly evaluation: Evaluation;
  readonly beatsNaive: boolean;
}

/** One cell of percentages per horizon label ('n/a' where a row has no realised value at that step, e.g. a short backtest window). */
const percents = (labels: readonly string[], scores: readonly HorizonScore[], pick: (s: HorizonScore) => number): string =>
  labels.map((label) => {
    const score = scores.find((s) => s.steps === label);
    return score === undefined ? 'n/a' : (100 * pick(score)).toFixed(1);
  }).join('/');

/** Every horizon label of the rows, single steps in ascending order, the pooled one ("1..H") last. */
function horizonLabels(rows: readonly EvaluationRow[]): string[] {
  const labels = [...new Set(rows.flatMap((r) => r.evaluation.horizons.map((s) => s.steps)))];
  const order = (label: string): number => (label.includes('..') ? Number.POSITIVE_INFINITY : Number(label));
  return labels.sort((a, b) => order(a) - order(b));
}

/**
 * Served (calibrated) vs raw network vs naive next-day MAE, Brier score of the probability of an up day
 * vs the constant base rate, band coverage per horizon (steps 1/5/20/60/pooled), Winkler interval
 * scores pooled vs the RiskMetrics baseline, and volatility QLIKE vs EWMA and GARCH(1,1): all on the
 * same held-out days.
 */
export function evaluationTable(rows: readonly EvaluationRow[], first = 'model'): string {
  const labels = horizonLabels(rows);
  const steps = labels.join('/');
  return table(
    [
      first, 'test split', 'days', 'mae', 'lstm_mae', 'naive_mae', 'mae_ratio', 'lstm_ratio', 'dm_p',
      'brier', 'const_brier', `cov80 ${steps}`, `cov95 ${steps}`, 'is80', 'rm_is80', 'is95', 'rm_is95',
      'vol', 'qlike', 'ewma_qlike', 'garch_qlike', 'head_qlike', 'beats_naive',
    ],
    rows.map(({ label, evaluation: e, beatsNaive }) => {
      const pooled = e.horizons.at(-1);
      return [
        label, `${e.test_from}..${e.test_to}`, String(e.test_days), num(e.mae), num(e.lstm_mae), num(e.naive_mae), num(e.mae_ratio), num(e.lstm_mae_ratio), num(e.naive_dm_p_value, 3),
        num(e.brier), num(e.base_rate_brier), percents(labels, e.horizons, (s) => s.coverage_80), percents(labels, e.horizons, (s) => s.coverage_95),
        num(pooled?.interval_score_80, 3), num(pooled?.riskmetrics_interval_score_80, 3), num(pooled?.interval_score_95, 3), num(pooled?.riskmetrics_interval_score_95, 3),
        e.volatility_model, num(e.volatility_qlike), num(e.ewma_qlike), num(e.garch_qlike), num(e.head_qlike), beatsNaive ? 'yes' : 'NO',
      ];
    }),
  );
}

/** A model's test split as a row, labelled with key and version. */
export function metricsRow(m: ModelMetadata): EvaluationRow {
  return { label: `${m.key} ${m.version}`, evaluation: m.evaluation, beatsNaive: m.beats_naive };
}

/** The evaluation table of each model's test split. */
export function metricsTable(models: readonly ModelMetadata[]): string {
  return evaluationTable(models.map(metricsRow));
}

export const COVERAGE_NOISE_HEADING = 'Next-day band coverage (%) ± its standard error on these days, and its distance from the nominal level in standard errors:';

/** Nominal coverage of each band level. */
const BAND_LEVELS = [
  { name: '80 %', nominal: 0.8, coverage: (s: HorizonScore) => s.coverage_80, se: (s: HorizonScore) => s.coverage_80_se },
  { name: '95 %', nominal: 0.95, coverage: (s: HorizonScore) => s.coverage_95, se: (s: HorizonScore) => s.coverage_95_se },
] as const;

/**
 * Each row's next-day coverage with its standard error on the row's days and its distance from the nominal
 * level in standard errors, so a coverage off its target range reads against sampling noise (|z| below
 * about 2: a calibrated band could have done that on these days). Rows saved before standard errors were
 * stored say so; a zero error (every day covered) gets no z.
 */
export function coverageNoise(rows: readonly EvaluationRow[]): string[] {
  return rows.map(({ label, evaluation }) => {
    const first = evaluation.horizons.find((s) => s.steps === '1');
    const cells = BAND_LEVELS.flatMap((level) => {
      const se = first === undefined ? undefined : level.se(first);
      if (first === undefined || se === undefined) return [];
      const coverage = level.coverage(first);
      const z = (coverage - level.nominal) / se;
      return [`${level.name} 1 d ${(100 * coverage).toFixed(1)} ± ${(100 * se).toFixed(1)}${se > 0 ? ` (z ${z >= 0 ? '+' : ''}${z.toFixed(1)})` : ''}`];
    });
    return `${label}: ${cells.length === 0 ? 'saved before standard errors were stored' : cells.join(', ')}`;
  });
}

/** What the table's columns mean, printed under it. */
export const TABLE_LEGEND =
  'mae: served (calibrated) forecast; lstm_mae: the raw network; ratios are to naive (last close). brier: probability of an up day vs const_brier, ' +
  'the constant base rate. cov80/cov95: band coverage at each horizon step and pooled. is80/is95: Winkler interval score (log-return %), pooled, ' +
  'vs rm_ RiskMetrics (random walk, EWMA-volatility Gaussian bands). qlike: served volatility model (vol) vs EWMA, GARCH(1,1) and the LSTM volatility head (n/a: none), pooled over horizons.';

const BAND_SOURCES: Readonly<Record<IntervalWindow, string>> = {
  validation: 'conformal quantiles per step on validation days',
  training_and_validation: 'conformal quantiles per step on training + validation days',
  validation_pooled_steps: 'one conformal quantile of every step pooled, on validation days',
  validation_shrunk_steps: 'conformal quantiles per step on validation days, shrunk toward the pooled one by each step’s effective sample',
  gaussian: 'Gaussian multiples of the served volatility',
  riskmetrics_gaussian: 'Gaussian multiples of RiskMetrics EWMA volatility (the baseline rule)',
  student_t: 'Student-t multiples of the served volatility (fitted tails, aggregated over the horizon)',
  riskmetrics_student_t: 'Student-t multiples of RiskMetrics EWMA volatility (fitted tails, aggregated over the horizon)',
};

/**
 * How a model's bands were set up, chosen on validation days only: the band source and adaptive
 * conformal step, with the validation evidence that chose them: the chosen rule's selection score beside
 * the default rule's, and the challenger that came closest to replacing it (challengerEvidence). Models saved
 * before the default rule existed show the plain (validation quantiles, no adaptation) bands' score instead.
 */
export function bandRule(m: ModelMetadata): string {
  const saved = m.calibration as Partial<ModelMetadata['calibration']> | undefined;
  if (saved?.adaptive_rule === undefined || saved.band_selection === undefined) return `${m.key}: saved before band rules were chosen on validation: retrain it.`;
  const c = m.calibration;
  const nu = c.intervals.degrees_of_freedom;
  const window = BAND_SOURCES[c.interval_window] + (nu === undefined ? '' : `, next-day ν ${num(nu, 2)}`);
  const rule = c.adaptive_rule.rate === 0 ? 'no adaptive step' : `adaptive step ${c.adaptive_rule.rate}${c.adaptive_rule.divide_by_step ? ' / horizon step' : ''} per matured outcome`;
  const { candidates, default_test: test } = c.band_selection;
  const chosen = candidates.find((x) => sameRule(x, { window: c.interval_window, ...c.adaptive_rule }));
  const defaultRule = defaultRuleOf(c.band_selection);
  const reference = test === undefined ? candidates[0] : candidates.find((x) => sameRule(x, defaultRule));
  const evidence =
    chosen === undefined || reference === undefined
      ? `too few validation days to choose: the ${test === undefined ? 'plain validation quantiles' : 'default bands'}`
      : `validation Winkler 80+95 pooled ${num(chosen.interval_score, 3)}, 1-day ${num(chosen.interval_score_step_1, 3)}, each relative to RiskMetrics' summed ${num(chosen.selection_score, 3)}; ` +
        (test === undefined
          ? `${num(reference.interval_score, 3)}, ${num(reference.interval_score_step_1, 3)}, ${num(reference.selection_score, 3)} for validation quantiles without adaptation`
          : `default (${ruleName(defaultRule)}) ${num(reference.selection_score, 3)}; ${challengerEvidence(candidates, test, defaultRule)}`) +
        `, scored on ${c.band_selection.selection_days} later validation days` +
        (c.band_selection.leave_series_out === true ? ', each symbol scored with quantiles fitted on the other symbols only' : '');
  return `${m.key}: bands: ${window}, ${rule} (${evidence}); volatility ${c.volatility.kind}.`;
}

type BandCandidate = BandSelection['candidates'][number];

/** A band rule as the report names it: its source, then its adaptive step (0.03/h: 0.03 divided by the horizon step). */
function ruleName(x: BandRule): string {
  return `${x.window}${x.rate === 0 ? '' : ` ${x.rate}${x.divide_by_step ? '/h' : ''}`}`;
}

/**
 * The evidence that could have replaced the default rule: the challenger with the largest t against it and
 * the critical t it needed, or, with no test possible, the challenger that scored lowest.
 */
function challengerEvidence(candidates: readonly BandCandidate[], test: NonNullable<BandSelection['default_test']>, defaultRule: BandRule): string {
  const challengers = candidates.filter((x) => !sameRule(x, defaultRule));
  if (test.critical_t === undefined) {
    const lowest = challengers.reduce((b, x) => (x.selection_score < b.selection_score ? x : b));
    return `lowest-scoring challenger ${ruleName(lowest)} ${num(lowest.selection_score, 3)}, but too few days for two ${test.batch_days}-day batches a horizon apart: no test`;
  }
  const strongest = challengers.reduce((b, x) => ((x.t_vs_default ?? 0) > (b.t_vs_default ?? 0) ? x : b));
  const freedom = `${test.degrees_of_freedom} degree${test.degrees_of_freedom === 1 ? '' : 's'} of freedom`;
  return `strongest challenger ${ruleName(strongest)} ${num(strongest.selection_score, 3)} at t ${num(strongest.t_vs_default, 2)} (needed over ${num(test.critical_t, 1)}, ${freedom} in ${test.batch_days}-day batches)`;
}

/** Where an unseen symbol's bands started: the width multipliers of its own-history start state at steps 1, 5, 20 and the last. */
export function bandStart(symbol: string, state: AdaptiveIntervalState | undefined): string {
  if (state === undefined) return `${symbol}: too little history before the test split: bands as calibrated`;
  const steps = [...new Set([1, 5, 20, state.log_scale_80.length])].filter((h) => h <= state.log_scale_80.length);
  const at = (logs: readonly number[]) => steps.map((h) => `×${num(Math.exp(logs[h - 1] as number), 3)}`).join(' ');
  return `${symbol}: 80 % ${at(state.log_scale_80)}, 95 % ${at(state.log_scale_95)} at steps ${steps.join('/')}`;
}

/** Which volatility model a model serves, with the validation QLIKE of every candidate it was chosen on (lower is better). */
export function volatilityChoice(m: ModelMetadata): string {
  const v = m.calibration.volatility_selection;
  const head = v.head_qlike === undefined ? 'no LSTM head (saved before it, or imported)' : `LSTM head ${num(v.head_qlike)}`;
  return `${m.key}: volatility ${m.calibration.volatility.kind}; validation QLIKE: ${head}, EWMA ${num(v.ewma_qlike)}, GARCH(1,1) ${num(v.garch_qlike)}.`;
}

/** One plain sentence per model about whether it is worth more than repeating the last close. */
export function verdict(m: ModelMetadata): string {
  const e = m.evaluation;
  const scores = `MAE ${num(e.mae)} vs naive ${num(e.naive_mae)}, ratio ${num(e.mae_ratio, 3)}, Diebold-Mariano p ${num(e.naive_dm_p_value, 3)}; raw network ratio ${num(e.lstm_mae_ratio, 4)}`;
  if (m.beats_naive) return `${m.key}: beats the naive last-close forecast on its test split (${scores}).`;
  const why = e.mae_ratio < 1 ? 'its MAE is lower, but not significantly (p >= 0.05)' : 'its MAE is not lower';
  return `${m.key}: does NOT beat the naive last-close forecast on its test split: ${why} (${scores}); its forecasts are no better than repeating the last close.`;
}
