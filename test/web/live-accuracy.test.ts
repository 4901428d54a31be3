import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { runTrackingCli } from '../helpers/tracking-cli.js';
import { artifactPath, launchChromium } from './browser.js';
import { getJson, startService, type RunningService } from './service.js';

/**
 * The dashboard's live-accuracy view in real Chromium against the real service, whose tracking store was filled the
 * way an operator fills it: a backfill of AAPL over 2025 up to 7 October (replays), then two live daily runs on 8 and
 * 9 October with a new close appended in between (so one live forecast has matured). Every number on the page is
 * compared with the tracking API's answer.
 */

type Json = Record<string, unknown>;

const MISSING = 'not reported';
const num = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
// The page's formatting (web/src/format.ts), applied here to the API's numbers.
const fmt = {
  price: (v: unknown) => (num(v) ? v.toFixed(2) : MISSING),
  ratio: (v: unknown) => (num(v) ? v.toFixed(3) : MISSING),
  share: (v: unknown) => (num(v) ? `${(v * 100).toFixed(1)}%` : MISSING),
  score: (v: unknown) => (num(v) ? v.toFixed(4) : MISSING),
  integer: (v: unknown) => (num(v) ? Math.round(v).toLocaleString('en-US') : MISSING),
};
const FIELDS: [string, (v: unknown) => string][] = [
  ['total_predictions', fmt.integer],
  ['predictions_with_actual', fmt.integer],
  ['mae', fmt.price],
  ['naive_mae', fmt.price],
  ['mae_ratio', fmt.ratio],
  ['hit_rate', fmt.share],
  ['always_up_hit_rate', fmt.share],
  ['coverage_80', fmt.share],
  ['coverage_95', fmt.share],
  ['brier_score', fmt.score],
  ['brier_constant', fmt.score],
];

let service: RunningService;
let browser: Browser;

const api = <T>(route: string): Promise<T> => getJson<T>(service, route);

async function cells(page: Page, selector: string): Promise<Record<string, string>> {
  const pairs = await page.$$eval(`${selector} td[data-field]`, (tds) => tds.map((td) => [td.getAttribute('data-field') ?? '', td.textContent ?? '']));
  return Object.fromEntries(pairs);
}

/** Painted pixels of a live-accuracy canvas, and those in the live forecasts' green (#15803d). */
const canvasStats = (id: string) => `(() => {
  const canvas = document.querySelector('#${id} canvas');
  if (!canvas) return null;
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0, live = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0) painted++;
    if (d[i + 3] > 200 && Math.abs(d[i] - 21) < 30 && Math.abs(d[i + 1] - 128) < 30 && Math.abs(d[i + 2] - 61) < 30) live++;
  }
  return { painted, live };
})()`;

/** Checks the summary table of one step against GET /accuracy/:symbol. */
async function assertSummary(page: Page, step: number): Promise<Json> {
  const accuracy = await api<Json>(`/api/v1/predictions/accuracy/AAPL?horizon=${step}`);
  const groups = accuracy.by_source as Json[];
  for (const source of ['all', 'live', 'backfilled']) {
    const figures = source === 'all' ? accuracy : (groups.find((g) => g.group === source) as Json);
    const shown = await cells(page, `tr[data-source="${source}"]`);
    for (const [field, format] of FIELDS) assert.equal(shown[field], format(figures[field]), `step ${step}, ${source}: ${field}`);
  }
  return accuracy;
}

describe('dashboard live-accuracy view in Chromium against a service with tracked forecasts', () => {
  before(async () => {
    service = await startService({
      prepare: async (layout) => {
        const env = { PERSISTENT_DATA_PATH: layout.root };
        const steps = ['--symbols', 'AAPL', '--horizon-steps', '5'];
        for (const args of [
          ['backfill', '--from', '2025-01-01', '--to', '2025-10-07', ...steps],
          ['daily-run', '--date', '2025-10-08', ...steps],
        ]) {
          const run = await runTrackingCli(args, env);
          assert.equal(run.code, 0, run.out);
        }
        // The next session closes: the live forecast for it matures, and a second live run issues from it.
        await appendFile(path.join(layout.historical, 'AAPL.csv'), '2025-10-09,257.8,258.0,253.1,254.04,254.04,38322000\n');
        const next = await runTrackingCli(['daily-run', '--date', '2025-10-09', ...steps], env);
        assert.equal(next.code, 0, next.out);
        // The CLI prints the run as the API shows it: symbol lists, not the store's JSON text.
        const shown = JSON.parse(next.out.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
        assert.deepEqual([shown.symbols_processed, shown.symbols_succeeded, shown.symbols_failed], [['AAPL'], ['AAPL'], []]);
      },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await service?.close();
  });

  test('forecasts as issued vs actual, rolling ratio, coverage, hit rate and reliability: the numbers of the API, live apart from backfilled', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(new URL('/#symbol=AAPL&days=5&range=63', service.url).href);
    await page.waitForSelector('body[data-state="ready"][data-live="ready"]', { timeout: 60_000 });

    const accuracy = await assertSummary(page, 1);
    const live = (accuracy.by_source as Json[]).find((g) => g.group === 'live');
    assert.deepEqual([live?.total_predictions, live?.predictions_with_actual], [2, 1], 'two live next-session forecasts, one matured');
    assert.ok((accuracy.backfilled_predictions as number) > 150);

    // The chart's rows are the history route's: every step-1 forecast, live and backfilled told apart.
    const history = await api<Json[]>('/api/v1/predictions/history/AAPL?horizon=1&limit=1000');
    const description = (await page.textContent('#live-chart-description')) ?? '';
    const liveRows = history.filter((r) => r.backfilled === false).length;
    const matured = history.filter((r) => r.actual_close !== null).length;
    assert.match(description, new RegExp(`^${history.length} forecasts of AAPL 1 session\\(s\\) ahead`));
    assert.ok(description.includes(`${liveRows} issued live, ${history.length - liveRows} backfilled replays; ${matured} with the actual close`), description);
    const first = [...history].sort((a, b) => String(a.target_date).localeCompare(String(b.target_date)))[0];
    assert.ok(description.includes(`for target days ${String(first?.target_date)} to 2025-10-10`), description);
    const chart = (await page.evaluate(canvasStats('live-chart'))) as { painted: number; live: number } | null;
    assert.ok(chart && chart.painted > 5000, `issued-vs-actual chart drawn: ${JSON.stringify(chart)}`);
    assert.ok(chart.live > 20, `the live forecasts are drawn in their own colour: ${JSON.stringify(chart)}`);

    // Rolling MAE ratio: the trends route's last value.
    const trends = await api<{ trends: Json[] }>('/api/v1/predictions/trends/AAPL?horizon=1&days=1000&window=20');
    const last = trends.trends.filter((d) => d.rolling_mae_ratio !== null && (d.predictions_with_actual as number) > 0).at(-1) as Json;
    assert.equal(last.date, '2025-10-09', 'the last target day with a matured forecast');
    assert.ok((await page.textContent('#live-rolling-description'))?.includes(`latest ${String(last.date)}: ${fmt.ratio(last.rolling_mae_ratio)}`));
    assert.ok(((await page.evaluate(canvasStats('live-rolling'))) as { painted: number }).painted > 1000);

    // Reliability diagram: every bin's counts, predicted and observed as the API gives them.
    const reliability = await api<{ rows: number; bins: Json[]; brier_score: number; brier_constant: number }>(
      '/api/v1/predictions/accuracy/reliability?symbols=AAPL&bins=10',
    );
    assert.ok(reliability.bins.length >= 1);
    assert.equal(await page.$$eval('[data-testid="reliability-table"] tbody tr', (trs) => trs.length), reliability.bins.length);
    assert.equal(reliability.bins.reduce((n, b) => n + (b.count as number), 0), reliability.rows);
    assert.equal(reliability.bins.reduce((n, b) => n + (b.live as number), 0), 1, 'the one matured live forecast');
    for (const bin of reliability.bins) {
      const shown = await cells(page, `tr[data-bin="${String(bin.bin)}"]`);
      assert.deepEqual(shown, {
        count: fmt.integer(bin.count),
        live: fmt.integer(bin.live),
        backfilled: fmt.integer(bin.backfilled),
        range: `${fmt.share(bin.confidence_min)} – ${fmt.share(bin.confidence_max)}`,
        mean_confidence: fmt.share(bin.mean_confidence),
        observed_hit_rate: fmt.share(bin.observed_hit_rate),
      });
    }
    assert.ok((await page.textContent('#live-reliability-description'))?.includes(`Brier score ${fmt.score(reliability.brier_score)} against ${fmt.score(reliability.brier_constant)}`));
    assert.ok(((await page.evaluate(canvasStats('live-reliability'))) as { painted: number }).painted > 1000);
    const file = await artifactPath('live-accuracy.png');
    await page.locator('[data-testid="live-accuracy"]').screenshot({ path: file });
    console.log(`screenshot: ${file}`);

    // Another step: the table follows the API for 5 sessions ahead.
    await page.selectOption('#live-step', '5');
    await page.waitForSelector('[data-testid="live-accuracy-table"] caption:has-text("5 session(s) ahead")', { timeout: 30_000 });
    await page.waitForSelector('body[data-live="ready"]');
    await assertSummary(page, 5);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  test('a symbol with no tracked forecasts says so and draws nothing', async () => {
    const symbol = service.symbols.find((s) => s !== 'AAPL') ?? service.fallbackSymbol;
    const page = await browser.newPage();
    await page.goto(new URL(`/#symbol=${symbol}&days=5&range=63`, service.url).href);
    await page.waitForSelector('body[data-live="empty"]', { timeout: 60_000 });
    assert.match((await page.textContent('#live-status')) ?? '', new RegExp(`No tracked forecasts of ${symbol} 1 session\\(s\\) ahead yet`));
    assert.equal(await page.$$eval('[data-testid="live-accuracy"] canvas', (c) => c.length), 0);
    await page.close();
  });
});
