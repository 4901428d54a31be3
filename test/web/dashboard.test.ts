import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { artifactPath, launchChromium } from './browser.js';
import { getJson, startService, type RunningService } from './service.js';

/**
 * The dashboard in real Chromium against the real service (buildApp on a loopback port, real models,
 * the sample CSVs). Every number checked on the page is compared with what the API itself returns.
 */

interface HorizonScore {
  steps: string;
  coverage_80: number;
  coverage_95: number;
  riskmetrics_coverage_80: number;
  riskmetrics_coverage_95: number;
  interval_score_80: number;
  riskmetrics_interval_score_80: number;
}
interface Evaluation {
  mae_ratio: number;
  lstm_mae_ratio: number;
  brier: number;
  base_rate_brier: number;
  base_rate: number;
  horizons: HorizonScore[];
  naive_dm_p_value: number;
  hit_rate: number;
  lstm_hit_rate: number;
  always_up_hit_rate: number;
  interval_coverage_80: number;
  test_from: string;
  test_to: string;
}
interface ModelDetail {
  symbol: string;
  key: string;
  name: string;
  version: string;
  evaluation: Evaluation;
  beats_naive: boolean;
  backend: string;
  data: { from: string; to: string } | null;
  calibration: { shrinkage: number[]; volatility_selection: { ewma_qlike: number; garch_qlike: number; head_qlike?: number } } | null;
}
interface Prediction {
  symbol: string;
  trading_signal: string;
  confidence: number;
  probability_up: number;
  current_price: number;
  predicted_price: number;
  lstm_predicted_price: number;
  as_of: string;
  model_version: string;
  forecast: { date: string; price: number; lstm_price: number; volatility: number; lower_80: number; upper_80: number; lower_95: number; upper_95: number }[];
  baseline: { predicted_price: number };
  model: { evaluation: Evaluation };
}
interface TestForecasts {
  version: string;
  count: number;
  points: { date: string; actual: number; predicted: number; naive: number }[];
}
interface Bar {
  timestamp: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Painted pixels of the chart canvas, pixels in each series' colour, and a hash of all of them. */
interface CanvasStats {
  painted: number;
  history: number;
  forecast: number;
  bands: number;
  naive: number;
  heldOut: number;
  raw: number;
  hash: number;
}
// A string, not a function: the test project is compiled without the DOM library.
const CANVAS_STATS = `(() => {
  const canvas = document.querySelector('#chart canvas');
  if (!canvas) return null;
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const near = (i, r, g, b) => d[i + 3] > 200 && Math.abs(d[i] - r) < 40 && Math.abs(d[i + 1] - g) < 40 && Math.abs(d[i + 2] - b) < 40;
  // Band fills are translucent orange (alpha 0.12 and 0.28, more where they overlap).
  const band = (i) => d[i + 3] > 15 && d[i + 3] < 130 && Math.abs(d[i] - 234) < 40 && Math.abs(d[i + 1] - 88) < 40 && Math.abs(d[i + 2] - 12) < 40;
  let painted = 0, history = 0, forecast = 0, bands = 0, naive = 0, heldOut = 0, raw = 0, hash = 2166136261;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0) painted++;
    if (near(i, 31, 78, 153)) history++;
    if (near(i, 194, 65, 12)) forecast++;
    if (band(i)) bands++;
    if (d[i + 3] > 200 && Math.abs(d[i] - 75) < 12 && Math.abs(d[i + 1] - 85) < 12 && Math.abs(d[i + 2] - 99) < 12) naive++;
    if (near(i, 124, 58, 237)) heldOut++;
    if (near(i, 219, 39, 119)) raw++;
    hash = Math.imul(hash ^ (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24)), 16777619) >>> 0;
  }
  return { painted, history, forecast, bands, naive, heldOut, raw, hash };
})()`;

const price = (value: number) => value.toFixed(2);
const share = (value: number) => `${(value * 100).toFixed(1)}%`;

let service: RunningService;
let browser: Browser;

const api = <T>(route: string): Promise<T> => getJson<T>(service, route);

/** Opens the dashboard and waits until it has settled on `state` (ready, error or empty). */
async function open(options: { hash?: string; viewport?: { width: number; height: number }; state?: string } = {}) {
  const page = await browser.newPage({ viewport: options.viewport ?? { width: 1280, height: 900 } });
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await page.goto(new URL(`/${options.hash ?? ''}`, service.url).href);
  await page.waitForSelector(`body[data-state="${options.state ?? 'ready'}"]`, { timeout: 30_000 });
  return { page, consoleErrors };
}

/** Waits for the load started by `action` to finish (the page leaves "loading" and settles). */
async function settleAfter(page: Page, action: () => Promise<void>, state = 'ready'): Promise<void> {
  await action();
  await page.waitForSelector(`body[data-state="${state}"]`, { timeout: 30_000 });
}

async function canvasStats(page: Page): Promise<CanvasStats> {
  const stats = (await page.evaluate(CANVAS_STATS)) as CanvasStats | null;
  assert.ok(stats !== null, 'the chart has no canvas');
  return stats;
}

async function text(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).first().textContent())?.trim() ?? '';
}

/** Cell texts of a table's body rows (a string expression: no DOM types in the test project). */
async function tableRows(page: Page, testId: string): Promise<string[][]> {
  return (await page.evaluate(
    `Array.from(document.querySelectorAll('[data-testid="${testId}"] tbody tr'), (row) => Array.from(row.children, (cell) => cell.textContent.trim()))`,
  )) as string[][];
}

const forecastRows = (page: Page) => tableRows(page, 'forecast-table');
const historyRows = (page: Page) => tableRows(page, 'history-table');

/** The page's prediction panels against the API's answer for the same symbol and horizon. */
async function assertPredictionShown(page: Page, symbol: string, days: number): Promise<Prediction> {
  const prediction = await api<Prediction>(`/api/v1/predict/${symbol}?days=${days}`);
  assert.equal(await text(page, 'signal'), prediction.trading_signal);
  assert.equal(await text(page, 'confidence'), share(prediction.confidence));
  assert.equal(await text(page, 'predicted-price'), price(prediction.predicted_price));
  assert.equal(await text(page, 'lstm-price'), price(prediction.lstm_predicted_price));
  assert.equal(await text(page, 'probability-up'), share(prediction.probability_up));
  assert.equal(await text(page, 'current-price'), `${price(prediction.current_price)} on ${prediction.as_of}`);
  assert.match(await text(page, 'naive-price'), new RegExp(`^${price(prediction.baseline.predicted_price).replace('.', '\\.')} `));
  assert.deepEqual(
    await forecastRows(page),
    prediction.forecast.map((p) => [p.date, price(p.price), price(p.lstm_price), `${price(p.lower_80)} – ${price(p.upper_80)}`, `${price(p.lower_95)} – ${price(p.upper_95)}`, share(p.volatility)]),
  );
  assert.equal(prediction.forecast.length, days);
  const noSkill = Math.abs(prediction.probability_up - prediction.model.evaluation.base_rate) < 5e-5;
  assert.equal(await page.getByTestId('low-confidence').count(), noSkill ? 1 : 0, 'flagged exactly when the probability is the base rate (no validated skill)');
  return prediction;
}

async function assertModelCardShown(page: Page, symbol: string): Promise<ModelDetail> {
  const detail = await api<ModelDetail>(`/api/v1/models/${symbol}`);
  assert.equal(await text(page, 'model-name'), detail.name);
  assert.equal(await text(page, 'model-version'), detail.version);
  assert.equal(await text(page, 'model-backend'), detail.backend);
  assert.equal(await text(page, 'model-mae-ratio'), detail.evaluation.mae_ratio.toFixed(3));
  assert.equal(await text(page, 'model-lstm-mae-ratio'), detail.evaluation.lstm_mae_ratio.toFixed(3));
  assert.equal(await text(page, 'model-brier'), `${detail.evaluation.brier.toFixed(4)} (${detail.evaluation.base_rate_brier.toFixed(4)})`);
  const selection = detail.calibration?.volatility_selection;
  // the validation QLIKE the volatility model was chosen on, the LSTM head's beside EWMA's and GARCH's ('not reported' for a version without one)
  assert.equal(await text(page, 'model-volatility-choice'), [selection?.ewma_qlike, selection?.garch_qlike, selection?.head_qlike].map((v) => v?.toFixed(4) ?? 'not reported').join(' / '));
  assert.match(await text(page, 'model-shrinkage'), new RegExp(`^${(detail.calibration?.shrinkage[0] ?? Number.NaN).toFixed(3)} next day`));
  assert.deepEqual(
    await tableRows(page, 'model-horizons'),
    detail.evaluation.horizons.map((s) => [
      s.steps, share(s.coverage_80), share(s.riskmetrics_coverage_80), share(s.coverage_95), share(s.riskmetrics_coverage_95),
      `${s.interval_score_80.toFixed(3)} (${s.riskmetrics_interval_score_80.toFixed(3)})`,
    ]),
  );
  assert.equal(await text(page, 'model-hit-rate'), `${share(detail.evaluation.hit_rate)} (${share(detail.evaluation.lstm_hit_rate)})`);
  assert.equal(await text(page, 'model-always-up'), share(detail.evaluation.always_up_hit_rate));
  assert.equal(await text(page, 'model-coverage-80'), share(detail.evaluation.interval_coverage_80));
  assert.equal(await text(page, 'model-test-window'), `${detail.evaluation.test_from} → ${detail.evaluation.test_to}`);
  assert.equal(await text(page, 'model-beats-naive'), detail.beats_naive ? 'yes' : 'no');
  if (detail.data !== null) assert.match(await text(page, 'model-data-range'), new RegExp(`^${detail.data.from} → ${detail.data.to}`));
  // The warning is there exactly when the model does not beat the naive forecast.
  assert.equal(await page.getByTestId('naive-warning').count(), detail.beats_naive ? 0 : 1);
  assert.equal(await page.getByTestId('verdict').count(), detail.beats_naive ? 1 : 0);
  // The Diebold–Mariano p-value the API reports, and what it means, in the verdict.
  const p = detail.evaluation.naive_dm_p_value;
  const pText = p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(p < 0.01 ? 3 : 2)}`;
  assert.equal(await text(page, 'model-dm-p-value'), pText);
  const verdictText = await text(page, detail.beats_naive ? 'verdict' : 'naive-warning');
  assert.ok(verdictText.includes(`(${pText}, one-sided Diebold–Mariano test`), verdictText);
  const meaning =
    detail.evaluation.mae_ratio >= 1
      ? /MAE [\d.]+% higher than naive/
      : p < 0.05
        ? /MAE [\d.]+% lower than naive, and the difference is statistically significant/
        : /MAE [\d.]+% lower than naive, but the difference is not statistically significant/;
  assert.match(verdictText, meaning);
  // The verdict reads the served forecast's numbers, and says which coverage it quotes.
  assert.ok(verdictText.includes(`Its served forecast called the next-day direction right ${share(detail.evaluation.hit_rate)} of the time`), verdictText);
  assert.ok(verdictText.includes(`(the raw network's own calls: ${share(detail.evaluation.lstm_hit_rate)})`), verdictText);
  assert.ok(verdictText.includes(`held the next day's price ${share(detail.evaluation.horizons[0]?.coverage_80 ?? Number.NaN)} of the time`), verdictText);
  return detail;
}

async function screenshot(page: Page, name: string): Promise<string> {
  const file = await artifactPath(name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
  return file;
}

describe('web dashboard in Chromium against the real service', () => {
  before(async () => {
    service = await startService();
    console.log(`service ${service.url}: ${service.models} models, own: ${service.symbols.join(', ')}; global answers ${service.fallbackSymbol}`);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await service?.close();
  });

  test('loads without console errors and draws history, forecast bands and the naive line', async () => {
    const { page, consoleErrors } = await open();
    const symbol = await page.getByLabel('Symbol', { exact: true }).inputValue();
    assert.ok(service.symbols.includes(symbol), `opened on ${symbol}, one of the models ${service.symbols.join(', ')}`);
    const stats = await canvasStats(page);
    console.log(`chart pixels: ${JSON.stringify(stats)}`);
    assert.ok(stats.painted > 5_000, `chart canvas is painted (${stats.painted} px)`);
    assert.ok(stats.history > 100, `history line drawn (${stats.history} px)`);
    assert.ok(stats.forecast > 20, `forecast line drawn (${stats.forecast} px)`);
    assert.ok(stats.bands > 200, `80% and 95% bands filled (${stats.bands} px)`);
    assert.ok(stats.naive > 10, `naive forecast line drawn (${stats.naive} px)`);
    // The raw network's path beside the served one: calibration pulled the served price to naive, not the network's.
    assert.ok(stats.raw > 10, `raw network line drawn (${stats.raw} px)`);
    assert.match(await page.locator('#chart .u-legend').innerText(), /Served forecast \(calibrated\)[\s\S]*Raw network \(LSTM\)/);
    await assertPredictionShown(page, symbol, 5);
    await assertModelCardShown(page, symbol);
    // The history table holds the API's bars for the selected range.
    const history = await api<{ data: Bar[] }>(`/api/v1/historical/${symbol}?days=63`);
    assert.equal((await historyRows(page)).length, history.data.length);
    // Service panel: the health status the API reports, the cache tiers it reports.
    const health = await api<{ status: string }>('/api/v1/health');
    assert.equal(await text(page, 'health-status'), health.status);
    const { cache } = await api<{ cache: { default_ttl: number; tiers: Record<string, unknown> } }>('/api/v1/stats');
    const cacheTree = page.getByTestId('cache-stats').locator(':scope > dl');
    assert.equal(await cacheTree.locator(':scope > dd[data-key="default_ttl"]').innerText(), String(cache.default_ttl));
    const tiers = await cacheTree.locator(':scope > dd[data-key="tiers"] > dl > dt').allInnerTexts();
    assert.deepEqual(tiers, Object.keys(cache.tiers), 'every cache tier the API reports, and no other');
    await screenshot(page, 'dashboard-desktop.png');
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  test('security headers: the dashboard and /docs carry a strict CSP, render under it without console errors; JSON answers skip them', async () => {
    const page = await fetch(new URL('/', service.url), { headers: { accept: 'text/html' } });
    await page.arrayBuffer();
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline or remote script');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const asset = await fetch(new URL('/assets/app.js', service.url));
    await asset.arrayBuffer();
    assert.match(asset.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const json = await fetch(new URL('/api/v1/stats', service.url));
    await json.arrayBuffer();
    assert.equal(json.headers.get('content-security-policy'), null);

    const docs = await browser.newPage();
    const consoleErrors: string[] = [];
    docs.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    docs.on('pageerror', (error) => consoleErrors.push(error.message));
    const response = await docs.goto(new URL('/docs/', service.url).href);
    assert.match((await response?.allHeaders())?.['content-security-policy'] ?? '', /default-src 'self'/);
    await docs.waitForSelector('.opblock-summary-path', { timeout: 30_000 });
    assert.ok((await docs.locator('.opblock-summary-path').count()) > 5, 'the operations are listed');
    assert.deepEqual(consoleErrors, []);
    await docs.close();
  });

  test('switching horizon and symbol redraws the chart and shows the API numbers', async () => {
    const [first, second] = service.symbols;
    assert.ok(first !== undefined && second !== undefined, 'the service has two models');
    const { page, consoleErrors } = await open({ hash: `#symbol=${first}&days=3&range=63` });
    await assertPredictionShown(page, first, 3);
    const before = await canvasStats(page);

    await settleAfter(page, async () => {
      await page.getByLabel('Horizon (trading days, 1–60)', { exact: true }).fill('20');
      await page.getByLabel('Horizon (trading days, 1–60)', { exact: true }).press('Enter');
    });
    await assertPredictionShown(page, first, 20);
    const longer = await canvasStats(page);
    assert.notEqual(longer.hash, before.hash, 'a 20-day forecast draws differently from a 3-day one');
    assert.ok(longer.forecast > before.forecast, 'a longer forecast path paints more forecast pixels');
    assert.ok(longer.bands > before.bands, 'and wider interval bands');

    await settleAfter(page, () => page.locator(`button[data-symbol="${second}"]`).click());
    assert.equal(await page.getByLabel('Symbol', { exact: true }).inputValue(), second);
    await assertPredictionShown(page, second, 20);
    await assertModelCardShown(page, second);
    assert.notEqual((await canvasStats(page)).hash, longer.hash, 'another symbol draws another chart');
    assert.match(page.url(), new RegExp(`#symbol=${second}&days=20&range=63$`));
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  test('the history table sorts, and CSV export downloads exactly the rows shown', async () => {
    const [symbol] = service.symbols;
    assert.ok(symbol !== undefined);
    const { page } = await open({ hash: `#symbol=${symbol}&days=1&range=21` });
    const history = await api<{ data: Bar[] }>(`/api/v1/historical/${symbol}?days=21`);
    const byDate = new Map(history.data.map((bar) => [bar.timestamp.slice(0, 10), bar]));
    assert.equal((await historyRows(page)).length, 21);

    await page.locator('button[data-sort="close"]').click();
    const ascending = await historyRows(page);
    const closes = ascending.map((row) => Number(row[4]));
    assert.deepEqual(closes, [...closes].sort((a, b) => a - b), 'sorted by close, ascending');
    assert.equal(await page.locator('th[aria-sort="ascending"] button[data-sort="close"]').count(), 1);
    await page.locator('button[data-sort="close"]').click();
    const descending = await historyRows(page);
    assert.deepEqual(descending.map((row) => row[0]), ascending.map((row) => row[0]).reverse(), 'second click reverses');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export shown rows as CSV' }).click()]);
    const file = await artifactPath(download.suggestedFilename());
    await download.saveAs(file);
    const lines = (await readFile(file, 'utf8')).trim().split(/\r\n/);
    assert.equal(lines[0], 'symbol,date,open,high,low,close,volume');
    const rows = lines.slice(1).map((line) => line.split(','));
    assert.deepEqual(rows.map((row) => row[1]), descending.map((row) => row[0]), 'same rows, same order as the table');
    for (const row of rows) {
      const bar = byDate.get(row[1] ?? '');
      assert.ok(bar !== undefined, `row ${row[1]} is one of the API's bars`);
      assert.deepEqual(row.slice(2).map(Number), [bar.open, bar.high, bar.low, bar.close, bar.volume], `unrounded API values for ${row[1]}`);
      assert.equal(row[0], symbol);
    }
    console.log(`csv: ${file}`);
    await page.close();
  });

  test('keyboard only: labelled controls, Tab order, Enter submits, bad input is refused in place', async () => {
    const [, second] = service.symbols;
    assert.ok(second !== undefined);
    const { page } = await open();
    for (const label of ['Symbol', 'Horizon (trading days, 1–60)', 'History shown (trading days)']) {
      assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, `a control labelled "${label}"`);
    }
    await page.evaluate('document.activeElement && document.activeElement.blur()');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.className'), 'skip-link');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.id'), 'symbol');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(second.toLowerCase());
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.id'), 'horizon');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('99');
    await page.keyboard.press('Enter');
    assert.match(await page.locator('#symbol-error').innerText(), /1 to 60/);
    assert.equal(await page.locator('#horizon').getAttribute('aria-invalid'), 'true');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('7');
    await settleAfter(page, () => page.keyboard.press('Enter'));
    assert.equal(await page.locator('#symbol-error').innerText(), '');
    await assertPredictionShown(page, second, 7);
    await page.close();
  });

  test('held-out test predictions are drawn as their own series, with the numbers of the test-forecasts endpoint', async () => {
    const [symbol] = service.symbols;
    assert.ok(symbol !== undefined);
    const { page, consoleErrors } = await open({ hash: `#symbol=${symbol}&days=5&range=252` });
    const detail = await assertModelCardShown(page, symbol);
    const tested = await api<TestForecasts>(`/api/v1/models/${symbol}/test-forecasts?days=252`);
    assert.equal(tested.version, detail.version, 'the points belong to the version the card describes');
    const history = await api<{ data: Bar[] }>(`/api/v1/historical/${symbol}?days=252`);
    const from = history.data[0]?.timestamp.slice(0, 10) ?? '';
    const to = history.data.at(-1)?.timestamp.slice(0, 10) ?? '';
    const visible = tested.points.filter((p) => p.date >= from && p.date <= to);
    assert.ok(visible.length > 0, `the models in use have held-out points in the last year (${tested.count} returned)`);
    assert.equal(await page.evaluate('document.body.dataset.heldOut'), String(visible.length));
    const legend = await page.locator('#chart .u-legend').innerText();
    assert.match(legend, /Held-out test predictions \(served, next day\)/);
    assert.match(legend, /Held-out test: actual close/);
    const first = visible[0];
    const last = visible.at(-1);
    assert.ok(first !== undefined && last !== undefined);
    const description = await page.locator('#chart-description').innerText();
    assert.ok(
      description.includes(
        `Held-out test predictions: ${visible.length} day(s) the model never trained on, from ${first.date} (predicted ${price(first.predicted)}, actual ${price(first.actual)}) to ${last.date} (predicted ${price(last.predicted)}, actual ${price(last.actual)}).`,
      ),
      description,
    );
    const withHeldOut = await canvasStats(page);
    assert.ok(withHeldOut.heldOut > 20, `held-out prediction series drawn (${withHeldOut.heldOut} px)`);
    await screenshot(page, 'dashboard-held-out.png');
    // Without the endpoint's answer the series is gone and the page says so instead of inventing points.
    await page.route(/\/test-forecasts\?/, (route) => route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ error: 'no model', status: 404 }) }));
    await settleAfter(page, () => page.locator('#submit').click());
    assert.match(await page.locator('#chart-description').innerText(), /Held-out test predictions could not be loaded: no model/);
    assert.equal((await canvasStats(page)).heldOut, 0);
    await screenshot(page, 'dashboard-held-out-unavailable.png');
    assert.deepEqual(consoleErrors.filter((e) => !e.includes('404')), []);
    await page.close();
  });

  test('a symbol without its own model: the card shows the global model that answered', async () => {
    const symbol = service.fallbackSymbol;
    const { page, consoleErrors } = await open({ hash: `#symbol=${symbol}&days=10&range=63` });
    assert.equal(await page.locator(`button[data-symbol="${symbol}"]`).count(), 0, 'no chip: it has no model of its own');
    assert.equal(await page.locator('button[data-symbol="GLOBAL"]').count(), 0, 'the global model is not offered as a symbol');
    assert.match(await page.locator('#global-note').innerText(), /^Global model v\S+ \(ready\) answers for any other symbol/);
    const prediction = await assertPredictionShown(page, symbol, 10);
    const detail = await assertModelCardShown(page, symbol);
    assert.equal(detail.key, 'global');
    assert.equal(prediction.model_version, detail.version);
    assert.match(await text(page, 'model-fallback'), new RegExp(`^${symbol} has no model of its own; the global model`));
    assert.ok((await canvasStats(page)).forecast > 0);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  test('unknown symbol: the 404 is explained, nothing is drawn from invented data', async () => {
    const { page } = await open({ hash: '#symbol=ZZZQ9&days=5&range=63', state: 'error' });
    assert.equal(await page.locator('#error-message').innerText(), 'Unknown symbol ZZZQ9: the service has neither price data nor a model for it.');
    assert.equal(await page.locator('#chart canvas').count(), 0, 'no chart without data');
    assert.equal(await page.getByTestId('history-empty').count(), 1);
    assert.equal(await page.getByTestId('signal').count(), 0);
    await screenshot(page, 'dashboard-unknown-symbol.png');
    await page.close();
  });

  test('rate limited (429) and server error (500) are explained; Retry-After holds the retry button', async () => {
    const [symbol] = service.symbols;
    assert.ok(symbol !== undefined);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const timestamp = new Date().toISOString();
    await page.route('**/api/v1/predict/**', (route) =>
      route.fulfill({
        status: 429,
        headers: { 'content-type': 'application/json', 'retry-after': '7' },
        body: JSON.stringify({ error: 'Rate limit exceeded, retry in 7 seconds', status: 429, timestamp }),
      }),
    );
    await page.goto(new URL(`/#symbol=${symbol}&days=5&range=63`, service.url).href);
    await page.waitForSelector('body[data-state="error"]');
    assert.match(await page.locator('#error-message').innerText(), /Rate limited while loading the forecast\. The service asks to wait 7 s/);
    assert.equal(await page.locator('#retry').isDisabled(), true);
    assert.match(await page.locator('#retry').innerText(), /Try again in [1-7] s/);
    assert.equal(await page.getByTestId('signal').count(), 0, 'no signal without a prediction');
    // History still came from the real API, so the chart shows it (and only it).
    const stats = await canvasStats(page);
    assert.ok(stats.history > 100 && stats.forecast === 0 && stats.bands === 0 && stats.naive === 0, 'history drawn, nothing of a forecast drawn');
    await screenshot(page, 'dashboard-rate-limited.png');

    await page.unroute('**/api/v1/predict/**');
    await page.route('**/api/v1/predict/**', (route) =>
      route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: 'Internal Server Error (request req-42)', status: 500, timestamp }) }),
    );
    await settleAfter(page, () => page.getByRole('button', { name: 'Show forecast' }).click(), 'error');
    assert.match(await page.locator('#error-message').innerText(), /failed while loading the forecast \(HTTP 500\): Internal Server Error \(request req-42\)/);
    assert.equal(await page.locator('#retry').isDisabled(), false);

    await page.unroute('**/api/v1/predict/**');
    await settleAfter(page, () => page.locator('#retry').click());
    assert.equal(await page.locator('#error').isHidden(), true, 'the error clears once the API answers again');
    await assertPredictionShown(page, symbol, 5);
    await page.close();
  });

  test('loading and empty states are explicit', async () => {
    const [symbol] = service.symbols;
    assert.ok(symbol !== undefined);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Hold the prediction until the loading state has been seen, then let the real answer through.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route('**/api/v1/predict/**', async (route) => {
      await gate;
      await route.continue();
    });
    await page.goto(new URL(`/#symbol=${symbol}&days=4&range=21`, service.url).href);
    await page.waitForSelector('body[data-state="loading"]');
    assert.equal(await page.locator('#signal-panel').innerText(), 'Loading…');
    assert.equal(await page.locator('#signal-panel').getAttribute('aria-busy'), 'true');
    assert.equal(await page.locator('#status').innerText(), `Loading ${symbol}, 4-day forecast…`);
    assert.equal(await page.locator('#submit').isDisabled(), true);
    release();
    await page.waitForSelector('body[data-state="ready"]');
    await assertPredictionShown(page, symbol, 4);
    await page.close();

    // A service with no models yet: the page says so and asks for a symbol instead of showing anything.
    const empty = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await empty.route('**/api/v1/models', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ count: 0, models: [] }) }));
    await empty.goto(service.url);
    await empty.waitForSelector('body[data-state="empty"]');
    assert.equal(await empty.getByTestId('models-empty').count(), 1);
    assert.equal(await empty.locator('#status').innerText(), 'Type a symbol to see its forecast.');
    assert.equal(await empty.locator('#chart canvas').count(), 0);
    assert.equal(await empty.getByTestId('history-empty').count(), 1);
    await empty.close();
  });

  test('phone-sized viewport: no horizontal overflow, chart and tables readable', async () => {
    const { page, consoleErrors } = await open({ viewport: { width: 390, height: 844 } });
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    assert.equal(overflow, 0, 'page is not wider than the screen');
    const chartWidth = (await page.evaluate(`document.querySelector('#chart canvas').getBoundingClientRect().width`)) as number;
    assert.ok(chartWidth > 250 && chartWidth <= 390, `chart fits the screen (${chartWidth}px)`);
    assert.ok((await canvasStats(page)).forecast > 0);
    await screenshot(page, 'dashboard-phone.png');
    const firstScreen = await artifactPath('dashboard-phone-first-screen.png');
    await page.screenshot({ path: firstScreen });
    console.log(`screenshot: ${firstScreen}`);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  test('service down: the page says the API is unreachable instead of showing stale or made-up numbers', async () => {
    const { page } = await open();
    await service.close();
    await settleAfter(page, () => page.getByRole('button', { name: 'Show forecast' }).click(), 'error');
    assert.equal(
      await page.locator('#error-message').innerText(),
      'The service is not reachable, so the forecast, the price history and the model card could not be loaded. Check that it is running, then try again.',
    );
    assert.match(await page.locator('#health-panel').innerText(), /not reachable/);
    assert.equal(await page.getByTestId('signal').count(), 0);
    assert.equal(await page.locator('#chart canvas').count(), 0);
    await screenshot(page, 'dashboard-service-down.png');
    await page.close();
  });
});
