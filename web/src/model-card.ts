import { h } from './dom.js';
import { dateTime, MISSING, price, pValue, ratio, scalar, share } from './format.js';
import type { Evaluation, HorizonScore, ModelDetail, ModelVersion, Prediction } from './types.js';

/**
 * Plain-language reading of the test-split scores. It compares only numbers the API gave,
 * and says so when they are missing.
 */
export function verdict(evaluation: Evaluation | null | undefined, beatsNaive: boolean | null | undefined): { text: string; warn: boolean } {
  if (evaluation === null || evaluation === undefined || beatsNaive === null || beatsNaive === undefined) {
    return { text: 'The service did not report an evaluation for this model, so its quality is unknown.', warn: true };
  }
  const window = `on held-out days ${evaluation.test_from} to ${evaluation.test_to}`;
  const accuracy = beatsNaive
    ? `It beat the naive "tomorrow = today" forecast ${window}: its average price error was smaller (MAE ratio ${ratio(evaluation.mae_ratio)}; below 1 is better).`
    : `It did NOT beat the naive "tomorrow = today" forecast ${window} (MAE ratio ${ratio(evaluation.mae_ratio)}; below 1 would be better). Treat its forecasts as no better than the last close.`;
  const raw = evaluation.lstm_hit_rate === undefined ? '' : ` (the raw network's own calls: ${share(evaluation.lstm_hit_rate)})`;
  const direction =
    evaluation.hit_rate > evaluation.always_up_hit_rate
      ? `Its served forecast called the next-day direction right ${share(evaluation.hit_rate)} of the time, more often than always guessing "up" (${share(evaluation.always_up_hit_rate)})${raw}.`
      : `Its served forecast called the next-day direction right ${share(evaluation.hit_rate)} of the time, no better than always guessing "up" (${share(evaluation.always_up_hit_rate)})${raw}.`;
  const nextDay = evaluation.horizons?.find((h) => h.steps === '1');
  const coverage =
    nextDay === undefined
      ? `Its 80% interval held the real price ${share(evaluation.interval_coverage_80)} of the time (80% would be well calibrated).`
      : `Its 80% interval held the next day's price ${share(nextDay.coverage_80)} of the time, and ${share(evaluation.interval_coverage_80)} over every day ahead (80% would be well calibrated).`;
  return { text: `${accuracy} ${significance(evaluation)} ${direction} ${coverage}`, warn: !beatsNaive };
}

/** The significance level behind the service's beats_naive. */
const SIGNIFICANCE = 0.05;

/** Whether the MAE difference to naive could be luck, in words, from the API's Diebold–Mariano p-value. */
function significance(evaluation: Evaluation): string {
  const p = evaluation.naive_dm_p_value;
  if (p === undefined) return 'The service did not report whether the difference to naive is statistically significant.';
  // mae_ratio restated as a percentage difference (the API's number, not a new measurement).
  const gap = evaluation.mae_ratio - 1;
  const size = share(Math.abs(gap), Math.abs(gap) < 0.001 ? 2 : 1);
  const test = `${pValue(p)}, one-sided Diebold–Mariano test`;
  if (gap >= 0) return `MAE ${size} higher than naive (${test} of "lower than naive").`;
  return p < SIGNIFICANCE
    ? `MAE ${size} lower than naive, and the difference is statistically significant (${test}).`
    : `MAE ${size} lower than naive, but the difference is not statistically significant (${test}): it may be luck.`;
}

function row(label: string, value: string, testId: string): HTMLElement[] {
  return [h('dt', {}, label), h('dd', { 'data-testid': testId }, value)];
}

function dataRange(detail: ModelDetail): string {
  const { from, to, bars } = detail.data ?? {};
  if (typeof from !== 'string' || typeof to !== 'string') return MISSING;
  return typeof bars === 'number' ? `${from} → ${to} (${scalar(bars)} bars)` : `${from} → ${to}`;
}

function versionHistory(versions: readonly ModelVersion[]): HTMLElement | null {
  if (versions.length === 0) return null;
  return h(
    'details',
    {},
    h('summary', {}, `Version history (${versions.length})`),
    h(
      'ul',
      { class: 'versions' },
      ...versions.map((v) =>
        h(
          'li',
          {},
          h('code', {}, v.version),
          v.current ? ' (current)' : '',
          v.complete === false ? ' — incomplete' : '',
          v.trained_at === undefined ? '' : `, trained ${dateTime(v.trained_at)}`,
          v.mae_ratio === undefined ? '' : `, MAE ratio ${ratio(v.mae_ratio)}`,
          v.beats_naive === undefined ? '' : v.beats_naive ? ', beats naive' : ', does not beat naive',
          v.error === undefined ? '' : ` — ${v.error}`,
        ),
      ),
    ),
  );
}

/** The shrinkage factor of the next-day step and the range over all steps, as the API reports them. */
function shrinkage(detail: ModelDetail): string {
  const factors = detail.calibration?.shrinkage;
  if (factors === undefined || factors.length === 0) return MISSING;
  return `${ratio(factors[0])} next day (${ratio(Math.min(...factors))}–${ratio(Math.max(...factors))} over ${factors.length} days; 0 = naive, 1 = the network as is)`;
}

/** Coverage of the served bands per horizon beside the RiskMetrics baseline on the same days. */
function horizonTable(horizons: readonly HorizonScore[] | undefined): HTMLElement | null {
  if (horizons === undefined || horizons.length === 0) return null;
  const head = ['Days ahead', '80% band covers', 'RiskMetrics 80%', '95% band covers', 'RiskMetrics 95%', 'Interval score 80% (RiskMetrics)'];
  const rows = horizons.map((s) =>
    h(
      'tr',
      {},
      h('td', {}, s.steps),
      h('td', { class: 'num' }, share(s.coverage_80)),
      h('td', { class: 'num' }, share(s.riskmetrics_coverage_80)),
      h('td', { class: 'num' }, share(s.coverage_95)),
      h('td', { class: 'num' }, share(s.riskmetrics_coverage_95)),
      h('td', { class: 'num' }, `${ratio(s.interval_score_80)} (${ratio(s.riskmetrics_interval_score_80)})`),
    ),
  );
  // Scrolls sideways on a phone instead of widening the page.
  return h(
    'div',
    { class: 'scroll-x' },
    h(
      'table',
      { class: 'data', 'data-testid': 'model-horizons' },
      h('caption', {}, 'Bands on held-out days: coverage per horizon (80% and 95% would be calibrated) and interval score (lower is better)'),
      h('thead', {}, h('tr', {}, ...head.map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, ...rows),
    ),
  );
}

/** The model card: identity, training data, and test-split evaluation against the naive forecast. */
export function renderModelCard(detail: ModelDetail, prediction: Prediction | null): HTMLElement {
  const evaluation = detail.evaluation ?? undefined;
  const selection = detail.calibration?.volatility_selection;
  const assessment = verdict(evaluation, detail.beats_naive);
  const fallback =
    detail.fallback === true || prediction?.model.fallback === true
      ? h('p', { class: 'note', 'data-testid': 'model-fallback' }, `${prediction?.symbol ?? detail.symbol} has no model of its own; the global model "${detail.name}", trained on all sample symbols, answers for it.`)
      : null;
  const origin = detail.origin;
  const imported =
    origin === undefined
      ? null
      : h(
          'p',
          { class: 'note', 'data-testid': 'model-origin' },
          `Imported from ${origin.model_file} (Keras ${origin.keras_version}, ${origin.layout}) with ${origin.scaler_file}: ${origin.layers.join(' → ')}. `,
          origin.multi_step === 'iterated'
            ? 'It predicts the next close; later days come from running it on its own predictions. '
            : 'It predicts the next close only. ',
          `Note: ${origin.caveat}.`,
        );
  return h(
    'div',
    {},
    assessment.warn
      ? h('p', { class: 'warning', role: 'alert', 'data-testid': 'naive-warning' }, '⚠ ', assessment.text)
      : h('p', { class: 'verdict', 'data-testid': 'verdict' }, assessment.text),
    fallback,
    imported,
    h(
      'dl',
      { class: 'facts' },
      ...row('Model', detail.name, 'model-name'),
      ...row('Version', detail.version ?? MISSING, 'model-version'),
      ...row('Status', detail.status + (detail.error ? ` — ${detail.error}` : ''), 'model-status'),
      ...row('Trained at', dateTime(detail.trained_at), 'model-trained-at'),
      ...row('Training data', dataRange(detail), 'model-data-range'),
      ...row('Backend', detail.backend ?? prediction?.model.backend ?? MISSING, 'model-backend'),
      ...row('Window', typeof detail.window === 'number' ? `${detail.window} trading days` : MISSING, 'model-window'),
      ...row('Test days', evaluation === undefined ? MISSING : `${evaluation.test_from} → ${evaluation.test_to}`, 'model-test-window'),
      ...row('MAE (served / naive)', evaluation === undefined ? MISSING : `${price(evaluation.mae)} / ${price(evaluation.naive_mae)}`, 'model-mae'),
      ...row('MAE ratio vs naive (served)', ratio(evaluation?.mae_ratio), 'model-mae-ratio'),
      ...row('MAE ratio vs naive (raw network)', ratio(evaluation?.lstm_mae_ratio), 'model-lstm-mae-ratio'),
      ...row('Shrinkage towards the network', shrinkage(detail), 'model-shrinkage'),
      ...row(
        'Brier score, probability of an up day (constant base rate)',
        evaluation?.brier === undefined ? MISSING : `${evaluation.brier.toFixed(4)} (${evaluation.base_rate_brier?.toFixed(4) ?? MISSING})`,
        'model-brier',
      ),
      ...row(
        `Volatility loss, QLIKE (${evaluation?.volatility_model ?? 'served'} / EWMA / GARCH / LSTM head)`,
        evaluation?.volatility_qlike === undefined ? MISSING : [evaluation.volatility_qlike, evaluation.ewma_qlike, evaluation.garch_qlike, evaluation.head_qlike].map((v) => v?.toFixed(4) ?? MISSING).join(' / '),
        'model-volatility-loss',
      ),
      ...row(
        'Volatility chosen on validation QLIKE (EWMA / GARCH / LSTM head)',
        selection === undefined ? MISSING : [selection.ewma_qlike, selection.garch_qlike, selection.head_qlike].map((v) => v?.toFixed(4) ?? MISSING).join(' / '),
        'model-volatility-choice',
      ),
      ...row('Significance vs naive', pValue(evaluation?.naive_dm_p_value), 'model-dm-p-value'),
      ...row(
        'Direction hit rate, served (raw network)',
        evaluation === undefined ? MISSING : `${share(evaluation.hit_rate)} (${share(evaluation.lstm_hit_rate)})`,
        'model-hit-rate',
      ),
      ...row('Always-up hit rate', share(evaluation?.always_up_hit_rate), 'model-always-up'),
      ...row('80% interval coverage, every day ahead pooled', share(evaluation?.interval_coverage_80), 'model-coverage-80'),
      ...row('Beats naive', typeof detail.beats_naive === 'boolean' ? (detail.beats_naive ? 'yes' : 'no') : MISSING, 'model-beats-naive'),
    ),
    horizonTable(evaluation?.horizons),
    versionHistory(detail.versions ?? []),
  );
}
