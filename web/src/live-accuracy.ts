import type { ApiClient } from './api.js';
import { byId, h, replaceChildren } from './dom.js';
import { integer, price, ratio, score, share } from './format.js';
import { alignIssued, alignReliability, alignRolling, issuedOptions, latestPerTarget, reliabilityOptions, rollingOptions } from './live-charts.js';
import { createPlot } from './plot.js';
import type { ReliabilityResponse, SymbolTrackedAccuracy, TrackedAccuracy, TrackedForecast, TrendsResponse } from './types.js';

/** Most recent tracked forecasts drawn (the history route's page limit). */
const FORECASTS_SHOWN = 1000;
/** Target days the rolling MAE ratio spans. */
const ROLLING_WINDOW = 20;
const RELIABILITY_BINS = 10;

const SOURCES = [
  { key: 'all', label: 'All (out-of-sample)' },
  { key: 'live', label: 'Live' },
  { key: 'backfilled', label: 'Backfilled (replay)' },
] as const;

const EMPTY: TrackedAccuracy = {
  total_predictions: 0,
  predictions_with_actual: 0,
  live_predictions: 0,
  backfilled_predictions: 0,
  mae: null,
  naive_mae: null,
  mae_ratio: null,
  hit_rate: null,
  always_up_hit_rate: null,
  coverage_80: null,
  coverage_95: null,
  brier_score: null,
  brier_constant: null,
  brier_rows: 0,
};

function cell(field: string, text: string): HTMLElement {
  return h('td', { class: 'num', 'data-field': field }, text);
}

/** Live, backfilled and all tracked forecasts of one step, each figure beside the naive forecast's on the same rows. */
export function renderAccuracyTable(accuracy: SymbolTrackedAccuracy, step: number): HTMLElement {
  const figures = (key: (typeof SOURCES)[number]['key']): TrackedAccuracy =>
    key === 'all' ? accuracy : (accuracy.by_source.find((g) => g.group === key) ?? EMPTY);
  const heads = ['Forecasts', 'Matured', 'MAE', 'Naive MAE', 'MAE ratio', 'Hit rate', 'Always up', '80% coverage', '95% coverage', 'Brier', 'Brier (constant)'];
  return h(
    'table',
    { class: 'data', 'data-testid': 'live-accuracy-table' },
    h('caption', {}, `Tracked forecasts ${step} session(s) ahead of ${accuracy.symbol}; in-sample rows left out`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Rows'), ...heads.map((label) => h('th', { scope: 'col' }, label)))),
    h(
      'tbody',
      {},
      ...SOURCES.map(({ key, label }) => {
        const f = figures(key);
        return h(
          'tr',
          { 'data-source': key },
          h('th', { scope: 'row' }, label),
          cell('total_predictions', integer(f.total_predictions)),
          cell('predictions_with_actual', integer(f.predictions_with_actual)),
          cell('mae', price(f.mae)),
          cell('naive_mae', price(f.naive_mae)),
          cell('mae_ratio', ratio(f.mae_ratio)),
          cell('hit_rate', share(f.hit_rate)),
          cell('always_up_hit_rate', share(f.always_up_hit_rate)),
          cell('coverage_80', share(f.coverage_80)),
          cell('coverage_95', share(f.coverage_95)),
          cell('brier_score', score(f.brier_score)),
          cell('brier_constant', score(f.brier_constant)),
        );
      }),
    ),
  );
}

/** What the figures say, in words: a ratio at or above 1 is reported as not beating naive. */
function verdict(accuracy: TrackedAccuracy): string {
  if (accuracy.mae_ratio === null) return 'No forecast of this step has matured yet.';
  const beat = accuracy.mae_ratio < 1 ? 'beat' : 'did not beat';
  const brier =
    accuracy.brier_score === null || accuracy.brier_constant === null
      ? ''
      : accuracy.brier_score < accuracy.brier_constant
        ? ' Confidence was a better probability than a constant.'
        : ' Confidence was no better a probability than a constant (its Brier score is not below the constant’s).';
  return `Over ${integer(accuracy.predictions_with_actual)} matured forecasts the model ${beat} the naive forecast (MAE ratio ${ratio(accuracy.mae_ratio)}); it called the direction right ${share(accuracy.hit_rate)} of the time, "always up" ${share(accuracy.always_up_hit_rate)}.${brier}`;
}

export function renderReliabilityTable(reliability: ReliabilityResponse): HTMLElement {
  return h(
    'table',
    { class: 'data', 'data-testid': 'reliability-table' },
    h('caption', {}, `${integer(reliability.rows)} matured next-session forecasts in equal-count bins of confidence (${reliability.bins.length})`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Bin', 'Forecasts', 'Live', 'Backfilled', 'Confidence range', 'Predicted (mean confidence)', 'Observed (direction right)'].map((label) =>
          h('th', { scope: 'col' }, label),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...reliability.bins.map((bin) =>
        h(
          'tr',
          { 'data-bin': bin.bin },
          h('th', { scope: 'row' }, String(bin.bin)),
          cell('count', integer(bin.count)),
          cell('live', integer(bin.live)),
          cell('backfilled', integer(bin.backfilled)),
          cell('range', `${share(bin.confidence_min)} – ${share(bin.confidence_max)}`),
          cell('mean_confidence', share(bin.mean_confidence)),
          cell('observed_hit_rate', share(bin.observed_hit_rate)),
        ),
      ),
    ),
  );
}

export function describeIssued(symbol: string, step: number, rows: readonly TrackedForecast[]): string {
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first === undefined || last === undefined) return `No tracked forecasts ${step} session(s) ahead for ${symbol}.`;
  const live = rows.filter((r) => !r.backfilled).length;
  const matured = rows.filter((r) => r.actual_close !== null).length;
  return (
    `${rows.length} forecasts of ${symbol} ${step} session(s) ahead, for target days ${first.target_date} to ${last.target_date}: ` +
    `${live} issued live, ${rows.length - live} backfilled replays; ${matured} with the actual close.`
  );
}

/**
 * The live-accuracy view: the forecasts the service issued (and the backfill replayed) against the closes that
 * followed, the rolling MAE ratio to naive, coverage and hit rate beside always-up, and the reliability of
 * `confidence`. Every figure is the tracking API's; in-sample rows are left out (the API's default).
 */
export function createLiveAccuracyPanel(api: ApiClient) {
  const stepSelect = byId('live-step', HTMLSelectElement);
  const status = byId('live-status', HTMLParagraphElement);
  const summary = byId('live-summary', HTMLDivElement);
  const verdictLine = byId('live-verdict', HTMLParagraphElement);
  const issuedDescription = byId('live-chart-description', HTMLElement);
  const rollingDescription = byId('live-rolling-description', HTMLElement);
  const reliabilityDescription = byId('live-reliability-description', HTMLElement);
  const reliabilityTable = byId('live-reliability-table', HTMLDivElement);
  const issuedPlot = createPlot(byId('live-chart', HTMLDivElement), { narrow: 240, wide: 340 });
  const rollingPlot = createPlot(byId('live-rolling', HTMLDivElement), { narrow: 200, wide: 240 });
  const reliabilityPlot = createPlot(byId('live-reliability', HTMLDivElement), { narrow: 240, wide: 280 });
  let generation = 0;
  let shown = '';

  function clear(): void {
    for (const plot of [issuedPlot, rollingPlot, reliabilityPlot]) plot.clear();
    for (const element of [summary, reliabilityTable]) replaceChildren(element);
    for (const element of [verdictLine, issuedDescription, rollingDescription, reliabilityDescription]) element.textContent = '';
  }

  async function show(symbol: string): Promise<void> {
    const mine = ++generation;
    shown = symbol;
    const step = Number(stepSelect.value);
    document.body.dataset['live'] = 'loading';
    status.textContent = `Loading the tracked forecasts of ${symbol}…`;
    const [accuracy, forecasts, trends, reliability] = await Promise.allSettled([
      api.trackedAccuracy(symbol, step),
      api.trackedForecasts(symbol, step, FORECASTS_SHOWN),
      api.trends(symbol, step, FORECASTS_SHOWN, ROLLING_WINDOW),
      api.reliability(symbol, RELIABILITY_BINS),
    ]);
    if (mine !== generation) return;
    clear();
    const failed = [accuracy, forecasts, trends, reliability].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined || accuracy.status !== 'fulfilled' || forecasts.status !== 'fulfilled' || trends.status !== 'fulfilled' || reliability.status !== 'fulfilled') {
      const reason: unknown = failed?.reason;
      status.textContent = `Could not load the live accuracy of ${symbol}: ${reason instanceof Error ? reason.message : String(reason)}`;
      document.body.dataset['live'] = 'error';
      return;
    }
    if (accuracy.value.total_predictions === 0) {
      status.textContent =
        `No tracked forecasts of ${symbol} ${step} session(s) ahead yet. The daily run (DAILY_PREDICTION_ENABLED) records them; ` +
        '`npm run tracking -- backfill --from … --to …` replays past sessions.';
      document.body.dataset['live'] = 'empty';
      return;
    }
    const rows = latestPerTarget([...forecasts.value]);
    status.textContent = `Tracked forecasts of ${symbol}, ${step} session(s) ahead: ${integer(accuracy.value.predictions_with_actual)} matured of ${integer(accuracy.value.total_predictions)}.`;
    replaceChildren(summary, renderAccuracyTable(accuracy.value, step));
    verdictLine.textContent = verdict(accuracy.value);
    issuedPlot.draw(issuedOptions, alignIssued(rows));
    issuedDescription.textContent = describeIssued(symbol, step, rows);

    // Days whose forecasts have all still to mature add nothing to the ratio: they are not drawn.
    const days = trends.value.trends.filter((d) => d.rolling_mae_ratio !== null && d.predictions_with_actual > 0);
    const lastDay = days[days.length - 1];
    if (lastDay === undefined) rollingDescription.textContent = 'No matured forecasts yet: no ratio to draw.';
    else {
      rollingPlot.draw(rollingOptions(trends.value.window), alignRolling(days));
      rollingDescription.textContent = `MAE ÷ naive MAE over the last ${trends.value.window} target days, ${days.length} days drawn; latest ${lastDay.date}: ${ratio(lastDay.rolling_mae_ratio)} (below 1 beats naive).`;
    }

    const r = reliability.value;
    if (r.bins.length === 0) reliabilityDescription.textContent = 'No matured next-session forecast carries a confidence yet.';
    else {
      reliabilityPlot.draw(reliabilityOptions, alignReliability(r.bins, r.hit_rate));
      reliabilityDescription.textContent = `Next-session forecasts: confidence is the predicted probability that the direction is right. Brier score ${score(r.brier_score)} against ${score(r.brier_constant)} for always saying the overall hit rate (${share(r.hit_rate)}).`;
      replaceChildren(reliabilityTable, renderReliabilityTable(r));
    }
    document.body.dataset['live'] = 'ready';
  }

  stepSelect.addEventListener('change', () => {
    if (shown !== '') void show(shown);
  });
  return { show };
}
