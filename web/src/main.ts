import { ApiError, createApiClient, type ApiClient } from './api.js';
import { createPriceChart, describeChart, visibleTestForecasts } from './chart.js';
import { byId, h, replaceChildren } from './dom.js';
import { renderForecastTable, renderSignal } from './forecast-panel.js';
import { ratio } from './format.js';
import { createHistoryTable } from './history-table.js';
import { createLiveAccuracyPanel } from './live-accuracy.js';
import { renderModelCard } from './model-card.js';
import { renderHealth, renderStats } from './service-panel.js';
import { horizonProblem, normaliseSymbol, readHash, symbolProblem, writeHash, type ViewState } from './state.js';
import type { ModelDetail, ModelSummary, Prediction } from './types.js';

/** Key of the model trained on all symbols (API field `key`). */
const GLOBAL_MODEL_KEY = 'global';

/** What the user is told for each way a request can fail. */
function explain(error: unknown, what: string, symbol: string): string {
  if (!(error instanceof ApiError)) return `Could not load ${what}: ${String(error)}`;
  switch (error.kind) {
    case 'unreachable':
      return `Could not load ${what}: the service is not reachable. Check that it is running, then try again.`;
    case 'not-found':
      return `Could not load ${what} for ${symbol}: not found (${error.message}).`;
    case 'rate-limited':
      return error.retryAfterSeconds === null
        ? `Rate limited while loading ${what}. Wait a moment, then try again.`
        : `Rate limited while loading ${what}. The service asks to wait ${error.retryAfterSeconds} s before trying again.`;
    case 'bad-request':
      return `The service refused the request for ${what} (HTTP ${error.status}): ${error.message}`;
    case 'unavailable':
      return `The service cannot answer for ${what} right now (HTTP 503): ${error.message}`;
    case 'server':
      return `The service failed while loading ${what} (HTTP ${error.status}): ${error.message}`;
  }
}

interface Failure {
  readonly what: string;
  readonly reason: unknown;
}

function listOf(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** One message for the failures of a page load: a shared cause is said once, not once per request. */
function summarise(failures: readonly Failure[], symbol: string): string {
  const kinds = new Set(failures.map((f) => (f.reason instanceof ApiError ? f.reason.kind : 'other')));
  const whats = listOf(failures.map((f) => f.what));
  const [kind] = kinds;
  if (kinds.size === 1 && failures.length > 1) {
    if (kind === 'unreachable') return `The service is not reachable, so ${whats} could not be loaded. Check that it is running, then try again.`;
    if (kind === 'not-found') return `Unknown symbol ${symbol}: the service has neither price data nor a model for it.`;
    if (kind === 'rate-limited') {
      const waits = failures.map((f) => (f.reason instanceof ApiError ? f.reason.retryAfterSeconds : null)).filter((w): w is number => w !== null);
      return waits.length === 0
        ? `Rate limited while loading ${whats}. Wait a moment, then try again.`
        : `Rate limited while loading ${whats}. The service asks to wait ${Math.max(...waits)} s before trying again.`;
    }
  }
  return [...new Set(failures.map((f) => explain(f.reason, f.what, symbol)))].join(' ');
}

/** A model card for a symbol that has no model of its own, from the model block the prediction carried. */
function detailFromPrediction(prediction: Prediction): ModelDetail {
  const { model } = prediction;
  return {
    symbol: prediction.symbol,
    name: model.name,
    version: model.version,
    status: 'ready',
    ...(model.trained_at === undefined ? {} : { trained_at: model.trained_at }),
    ...(model.window === undefined ? {} : { window: model.window }),
    ...(model.features === undefined ? {} : { features: model.features }),
    ...(model.evaluation === undefined ? {} : { evaluation: model.evaluation }),
    ...(model.beats_naive === undefined ? {} : { beats_naive: model.beats_naive }),
    ...(model.backend === undefined ? {} : { backend: model.backend }),
  };
}

function loading(element: HTMLElement, text: string): void {
  element.setAttribute('aria-busy', 'true');
  replaceChildren(element, h('p', { class: 'loading' }, text));
}

function settle(element: HTMLElement, ...content: (Node | string | null)[]): void {
  element.removeAttribute('aria-busy');
  replaceChildren(element, ...content);
}

function failure(element: HTMLElement, message: string): void {
  settle(element, h('p', { class: 'failed' }, message));
}

function start(api: ApiClient): void {
  const form = byId('controls', HTMLFormElement);
  const symbolInput = byId('symbol', HTMLInputElement);
  const horizonInput = byId('horizon', HTMLInputElement);
  const rangeSelect = byId('range', HTMLSelectElement);
  const submit = byId('submit', HTMLButtonElement);
  const fieldError = byId('symbol-error', HTMLParagraphElement);
  const chips = byId('model-chips', HTMLUListElement);
  const datalist = byId('symbol-options', HTMLDataListElement);
  const globalNote = byId('global-note', HTMLParagraphElement);
  const status = byId('status', HTMLDivElement);
  const errorBox = byId('error', HTMLDivElement);
  const errorMessage = byId('error-message', HTMLParagraphElement);
  const retry = byId('retry', HTMLButtonElement);
  const chartElement = byId('chart', HTMLDivElement);
  const chartDescription = byId('chart-description', HTMLElement);
  const signalPanel = byId('signal-panel', HTMLDivElement);
  const modelCard = byId('model-card', HTMLDivElement);
  const forecastTable = byId('forecast-table', HTMLDivElement);
  const healthPanel = byId('health-panel', HTMLDivElement);
  const statsPanel = byId('stats-panel', HTMLDivElement);

  const chart = createPriceChart(chartElement);
  const liveAccuracy = createLiveAccuracyPanel(api);
  const historyTable = createHistoryTable(byId('history-table', HTMLDivElement), byId('export-csv', HTMLButtonElement), byId('history-summary', HTMLParagraphElement));
  // Responses of an older request are dropped, so a slow answer never overwrites a newer view.
  let generation = 0;
  let lastRequested = '';
  let retryTimer: ReturnType<typeof setInterval> | undefined;

  function showError(messages: readonly string[], retryAfterSeconds: number | null): void {
    clearInterval(retryTimer);
    if (messages.length === 0) {
      errorBox.hidden = true;
      return;
    }
    errorMessage.textContent = [...new Set(messages)].join(' ');
    errorBox.hidden = false;
    retry.disabled = false;
    retry.textContent = 'Try again';
    if (retryAfterSeconds !== null && retryAfterSeconds > 0) {
      // Honour Retry-After: the retry button unlocks when the service said it would accept requests again.
      let remaining = retryAfterSeconds;
      retry.disabled = true;
      retry.textContent = `Try again in ${remaining} s`;
      retryTimer = setInterval(() => {
        remaining -= 1;
        if (remaining > 0) {
          retry.textContent = `Try again in ${remaining} s`;
          return;
        }
        clearInterval(retryTimer);
        retry.disabled = false;
        retry.textContent = 'Try again';
      }, 1000);
    }
  }

  function currentState(): ViewState | null {
    const symbol = normaliseSymbol(symbolInput.value);
    const horizon = Number(horizonInput.value);
    const problem = symbolProblem(symbol) ?? horizonProblem(horizon);
    fieldError.textContent = problem ?? '';
    symbolInput.setAttribute('aria-invalid', String(symbolProblem(symbol) !== null));
    horizonInput.setAttribute('aria-invalid', String(horizonProblem(horizon) !== null));
    return problem === null ? { symbol, horizon, range: Number(rangeSelect.value) } : null;
  }

  async function show(state: ViewState): Promise<void> {
    const mine = ++generation;
    lastRequested = writeHash(state);
    window.history.replaceState(null, '', lastRequested);
    status.textContent = `Loading ${state.symbol}, ${state.horizon}-day forecast…`;
    document.body.dataset['state'] = 'loading';
    submit.disabled = true;
    for (const panel of [signalPanel, modelCard, forecastTable]) loading(panel, 'Loading…');
    chartElement.setAttribute('aria-busy', 'true');
    // The tracked forecasts load on their own: their absence or failure is said in their panel only.
    void liveAccuracy.show(state.symbol);

    const [prediction, bars, detail, tested] = await Promise.allSettled([
      api.predict(state.symbol, state.horizon),
      api.historical(state.symbol, state.range),
      api.model(state.symbol),
      // The test split ends with the data, so the last `range` test days cover the visible history.
      api.testForecasts(state.symbol, state.range),
    ]);
    if (mine !== generation) return;
    submit.disabled = false;
    chartElement.removeAttribute('aria-busy');

    const errors: Failure[] = [];
    let retryAfter: number | null = null;
    const note = (reason: unknown, what: string) => {
      errors.push({ reason, what });
      if (reason instanceof ApiError && reason.retryAfterSeconds !== null) retryAfter = Math.max(retryAfter ?? 0, reason.retryAfterSeconds);
      return explain(reason, what, state.symbol);
    };

    const predicted = prediction.status === 'fulfilled' ? prediction.value : null;
    const historyBars = bars.status === 'fulfilled' ? bars.value.data : [];
    const heldOut = tested.status === 'fulfilled' ? visibleTestForecasts(historyBars, tested.value.points) : [];

    if (prediction.status === 'fulfilled') {
      settle(signalPanel, renderSignal(prediction.value));
      settle(forecastTable, renderForecastTable(prediction.value));
    } else {
      const message = note(prediction.reason, 'the forecast');
      failure(signalPanel, message);
      failure(forecastTable, message);
    }

    if (bars.status === 'fulfilled') historyTable.show(state.symbol, historyBars);
    else {
      note(bars.reason, 'the price history');
      historyTable.clear();
    }

    if (predicted === null && historyBars.length === 0) {
      chart.clear();
      chartDescription.textContent = 'Nothing to draw: neither a forecast nor price history could be loaded.';
      document.body.dataset['chart'] = 'empty';
    } else {
      chart.draw(historyBars, predicted, heldOut);
      // Held-out points are extra evidence, not the answer: their absence is said here, not raised as an error.
      const heldOutNote =
        tested.status === 'rejected'
          ? ` Held-out test predictions could not be loaded: ${tested.reason instanceof Error ? tested.reason.message : String(tested.reason)}`
          : heldOut.length === 0
            ? ' No held-out test predictions fall in this range.'
            : '';
      chartDescription.textContent = describeChart(historyBars, predicted, heldOut) + heldOutNote;
      document.body.dataset['chart'] = 'drawn';
      document.body.dataset['heldOut'] = String(heldOut.length);
    }

    if (detail.status === 'fulfilled') settle(modelCard, renderModelCard(detail.value, predicted));
    else if (predicted !== null && detail.reason instanceof ApiError && detail.reason.kind === 'not-found') {
      // No model of its own: the card describes the (global) model that answered.
      settle(
        modelCard,
        h('p', { class: 'note' }, `${state.symbol} has no model of its own; the forecast came from model "${predicted.model.name}".`),
        renderModelCard(detailFromPrediction(predicted), predicted),
      );
    } else failure(modelCard, note(detail.reason, 'the model card'));

    showError(errors.length === 0 ? [] : [summarise(errors, state.symbol)], retryAfter);
    status.textContent =
      errors.length === 0
        ? `Showing ${state.symbol}: ${state.horizon}-day forecast, ${historyBars.length} days of history.`
        : `Loaded ${state.symbol} with problems (see the message below).`;
    document.body.dataset['state'] = errors.length === 0 ? 'ready' : 'error';
    // The request just made shows up in the cache figures.
    void refreshService();
  }

  function renderChips(all: readonly ModelSummary[]): void {
    // The global model is not a symbol: it answers for symbols without a model of their own.
    const models = all.filter((model): model is ModelSummary & { symbol: string } => model.key !== GLOBAL_MODEL_KEY && model.symbol !== null);
    const global = all.find((model) => model.key === GLOBAL_MODEL_KEY);
    globalNote.textContent =
      global === undefined
        ? 'No global model is loaded: only the symbols above can be forecast.'
        : `Global model ${global.version ?? ''} (${global.status}) answers for any other symbol the service has data for.`;
    replaceChildren(datalist, ...models.map((model) => h('option', { value: model.symbol }, model.name)));
    if (models.length === 0) {
      settle(chips, h('li', { class: 'empty', 'data-testid': 'models-empty' }, 'The service has no models loaded yet. You can still type a symbol.'));
      return;
    }
    settle(
      chips,
      ...models.map((model) => {
        const button = h(
          'button',
          {
            type: 'button',
            class: `chip chip-${model.status}${model.beats_naive === false ? ' chip-weak' : ''}`,
            'data-symbol': model.symbol,
            title: `${model.name} ${model.version ?? '(no version)'} (${model.status})${model.evaluation ? `, MAE ratio vs naive ${ratio(model.evaluation.mae_ratio)}` : ''}`,
          },
          model.symbol,
          model.status === 'ready' ? null : h('span', { class: 'chip-status' }, ` ${model.status}`),
          model.beats_naive === false ? h('span', { class: 'chip-status' }, ' (≤ naive)') : null,
        );
        button.addEventListener('click', () => {
          symbolInput.value = model.symbol;
          const state = currentState();
          if (state !== null) void show(state);
        });
        return h('li', {}, button);
      }),
    );
  }

  let serviceGeneration = 0;
  async function refreshService(): Promise<void> {
    const mine = ++serviceGeneration;
    // The first load says "Loading"; later refreshes keep the last figures on screen until new ones arrive.
    for (const [panel, what] of [[healthPanel, 'Loading health…'], [statsPanel, 'Loading stats…']] as const) {
      if (panel.childElementCount === 0) loading(panel, what);
      else panel.setAttribute('aria-busy', 'true');
    }
    const [health, stats] = await Promise.allSettled([api.health(), api.stats()]);
    if (mine !== serviceGeneration) return;
    if (health.status === 'fulfilled') settle(healthPanel, renderHealth(health.value));
    else failure(healthPanel, explain(health.reason, 'service health', ''));
    if (stats.status === 'fulfilled') settle(statsPanel, renderStats(stats.value));
    else failure(statsPanel, explain(stats.reason, 'cache statistics', ''));
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const state = currentState();
    if (state === null) {
      (symbolProblem(normaliseSymbol(symbolInput.value)) !== null ? symbolInput : horizonInput).focus();
      return;
    }
    void show(state);
  });
  // Enter in the horizon field fires both change and submit: the second, identical request is not sent.
  const showIfChanged = () => {
    const state = currentState();
    if (state !== null && writeHash(state) !== lastRequested) void show(state);
  };
  horizonInput.addEventListener('change', showIfChanged);
  rangeSelect.addEventListener('change', showIfChanged);
  retry.addEventListener('click', () => {
    const state = currentState();
    // show() refreshes the service panel when it is done.
    if (state !== null) void show(state);
    else void refreshService();
  });
  byId('refresh-service', HTMLButtonElement).addEventListener('click', () => void refreshService());

  async function boot(): Promise<void> {
    const fromHash = readHash(location.hash);
    if (fromHash.horizon !== undefined) horizonInput.value = String(fromHash.horizon);
    if (fromHash.range !== undefined) {
      if (![...rangeSelect.options].some((option) => option.value === String(fromHash.range))) {
        rangeSelect.append(h('option', { value: fromHash.range }, String(fromHash.range)));
      }
      rangeSelect.value = String(fromHash.range);
    }
    void refreshService();
    let models: ModelSummary[] = [];
    let modelsFailed = false;
    try {
      models = await api.models();
      renderChips(models);
    } catch (error) {
      failure(chips, explain(error, 'the model list', ''));
      showError([explain(error, 'the model list', '')], error instanceof ApiError ? error.retryAfterSeconds : null);
      modelsFailed = true;
    }
    const initial = fromHash.symbol ?? models.find((model) => model.status === 'ready' && model.key !== GLOBAL_MODEL_KEY && model.symbol !== null)?.symbol ?? undefined;
    if (initial === undefined) {
      status.textContent = 'Type a symbol to see its forecast.';
      document.body.dataset['state'] = modelsFailed ? 'error' : 'empty';
      historyTable.clear();
      chartDescription.textContent = 'Nothing to draw yet.';
      return;
    }
    symbolInput.value = initial;
    const state = currentState();
    if (state !== null) await show(state);
  }

  void boot();
}

start(createApiClient(document.baseURI));
