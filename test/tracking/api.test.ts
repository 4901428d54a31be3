import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseBarsCsv } from '../../src/market/csv.js';
import { sampleDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/service-process.js';
import { runTrackingCli } from '../helpers/tracking-cli.js';
import { API_KEY, startApp, type TestServer } from '../server/fixtures.js';
import { forEachDatabase } from './databases.js';
import { shippedModels } from './shipped-models.js';

type Json = Record<string, unknown>;

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

forEachDatabase('tracking API', (target) => {
  let server: TestServer;
  const start = async () => {
    // A watcher pass every second (default 30 s): the appended-bar test waits for a pass, not for the default's timer.
    server = await startApp(shippedModels, target().root, { DAILY_PREDICTION_HORIZON: '5', ACTUALS_WATCH_INTERVAL: '1', ...target().env });
  };
  const get = async (url: string) => {
    const res = await server.app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() as Json & Json[] };
  };
  const post = async (url: string, payload: unknown, key: string | null = API_KEY) => {
    const res = await server.app.inject({ method: 'POST', url, payload: payload as Json, headers: key === null ? {} : { 'x-api-key': key } });
    return { status: res.statusCode, body: res.json() as Json };
  };
  const allHistory = async (symbol: string) => {
    const rows: Json[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await get(`/api/v1/predictions/history/${symbol}?limit=1000&offset=${offset}&order_dir=asc`);
      assert.equal(page.status, 200);
      rows.push(...page.body);
      if (page.body.length < 1000) return rows;
    }
  };

  before(async () => {
    // A fresh clone, no network: the CLI seeds the shipped models and sample prices, then replays 2024.
    const run = await runTrackingCli(['backfill', '--from', '2024-01-01', '--to', '2024-12-31', '--symbols', 'AAPL', '--horizon-steps', '5'], {
      PERSISTENT_DATA_PATH: target().root,
      ...target().env,
    });
    assert.equal(run.code, 0, run.out);
    await start();
  });
  after(() => server?.app.close());

  test('accuracy of the 2024 backfill matches an independent recomputation from the CSV and the stored forecasts', async () => {
    const csv = parseBarsCsv(await readFile(path.join(sampleDir, 'AAPL.csv'), 'utf8'), 'AAPL.csv');
    const close = new Map(csv.map((b) => [b.date, b.close]));
    const rows = await allHistory('AAPL');
    assert.equal(rows.length, 252 * 5);
    assert.ok(rows.every((r) => (r.horizon === 1) === (typeof r.probability_up === 'number')), 'probability_up on step 1 only');
    const scored = rows.map((r) => {
      const actual = close.get(r.target_date as string) as number;
      const lastClose = close.get(r.issue_date as string) as number;
      const forecast = r.predicted_price as number;
      // The call: the side probability_up favours on step 1, the forecast's move from the last close later on.
      const callsUp = r.horizon === 1 ? (r.probability_up as number) > 0.5 : forecast > lastClose;
      return {
        err: Math.abs(forecast - actual),
        naive: Math.abs(lastClose - actual),
        in80: actual >= (r.lower_80 as number) && actual <= (r.upper_80 as number),
        in95: actual >= (r.lower_95 as number) && actual <= (r.upper_95 as number),
        hit: callsUp === actual > lastClose,
        up: actual > lastClose,
      };
    });
    const { status, body } = await get('/api/v1/predictions/accuracy/AAPL');
    assert.equal(status, 200);
    const close9 = (a: unknown, b: number, what: string) => assert.ok(Math.abs((a as number) - b) < 1e-9, `${what}: API ${String(a)} vs recomputed ${b}`);
    assert.equal(body.predictions_with_actual, rows.length);
    assert.equal(body.backfilled_predictions, rows.length);
    assert.equal(body.live_predictions, 0);
    close9(body.mae, mean(scored.map((s) => s.err)), 'MAE');
    close9(body.naive_mae, mean(scored.map((s) => s.naive)), 'naive MAE');
    close9(body.mae_ratio, mean(scored.map((s) => s.err)) / mean(scored.map((s) => s.naive)), 'MAE ratio');
    close9(body.coverage_80, mean(scored.map((s) => (s.in80 ? 1 : 0))), '80% coverage');
    close9(body.coverage_95, mean(scored.map((s) => (s.in95 ? 1 : 0))), '95% coverage');
    close9(body.hit_rate, mean(scored.map((s) => (s.hit ? 1 : 0))), 'hit rate');
    close9(body.always_up_hit_rate, mean(scored.map((s) => (s.up ? 1 : 0))), 'always-up hit rate');
    assert.ok(typeof body.brier_score === 'number' && typeof body.brier_constant === 'number');
    // The same figures through the summary and the range (none of the three routes shadows another).
    const summary = await get('/api/v1/predictions/accuracy/summary');
    assert.equal(summary.status, 200);
    close9(summary.body.mae, body.mae as number, 'summary MAE');
    assert.equal((summary.body.by_symbol as Json[])[0]?.group, 'AAPL');
    const range = await get('/api/v1/predictions/accuracy/range?start_date=2024-01-01&end_date=2025-12-31&symbols=AAPL&group_by=horizon');
    assert.equal(range.status, 200);
    assert.deepEqual((range.body.groups as Json[]).map((g) => g.group), ['1', '2-5']);
  });

  test('reliability of confidence: the bins match an independent recomputation from the stored rows and the CSV', async () => {
    const csv = parseBarsCsv(await readFile(path.join(sampleDir, 'AAPL.csv'), 'utf8'), 'AAPL.csv');
    const close = new Map(csv.map((b) => [b.date, b.close]));
    const store = await target().openStore();
    const stored = await store.query({ symbols: ['AAPL'], horizons: [1] });
    await store.close();
    // Step-1 rows, each judged from the CSV: was the direction from the issue day's close right?
    const judged = stored
      .map((r) => {
        const actual = close.get(r.target_date) as number;
        const last = close.get(r.issue_date) as number;
        return { id: r.id, confidence: r.confidence as number, hit: (r.probability_up as number) > 0.5 === actual > last };
      })
      .sort((a, b) => a.confidence - b.confidence || a.id - b.id);
    assert.equal(judged.length, 252);
    const { status, body } = await get('/api/v1/predictions/accuracy/reliability?symbols=AAPL&bins=7');
    assert.equal(status, 200, JSON.stringify(body));
    const bins = body.bins as Json[];
    assert.equal(body.rows, 252);
    assert.ok(bins.length >= 1 && bins.length <= 7, `${bins.length} bins`);
    // The bins partition the rows in confidence order, never splitting one confidence between two bins…
    assert.equal(bins.reduce((n, b) => n + (b.count as number), 0), judged.length);
    for (const [k, bin] of bins.entries()) {
      if (k > 0) assert.ok((bin.confidence_min as number) > (bins[k - 1]?.confidence_max as number), `bin ${k + 1} starts above bin ${k}`);
      // …and each bin's figures are those of the stored rows inside its confidence range.
      const members = judged.filter((j) => j.confidence >= (bin.confidence_min as number) && j.confidence <= (bin.confidence_max as number));
      assert.equal(bin.count, members.length, `bin ${k + 1}`);
      assert.equal(bin.backfilled, members.length);
      assert.equal(bin.live, 0);
      assert.ok(Math.abs((bin.mean_confidence as number) - mean(members.map((m) => m.confidence))) < 1e-12, `bin ${k + 1} mean confidence`);
      assert.equal(bin.observed_hit_rate, members.filter((m) => m.hit).length / members.length, `bin ${k + 1} observed`);
    }
    const hit = mean(judged.map((j) => (j.hit ? 1 : 0)));
    assert.ok(Math.abs((body.hit_rate as number) - hit) < 1e-12);
    assert.ok(Math.abs((body.brier_score as number) - mean(judged.map((j) => (j.confidence - (j.hit ? 1 : 0)) ** 2))) < 1e-12);
    assert.ok(Math.abs((body.brier_constant as number) - hit * (1 - hit)) < 1e-12);
    // The Brier score of /accuracy/:symbol over step 1 is the same figure; no live rows yet, no rows for an unknown symbol.
    const step1 = await get('/api/v1/predictions/accuracy/AAPL?horizon=1');
    assert.equal(step1.body.brier_score, body.brier_score);
    assert.deepEqual((await get('/api/v1/predictions/accuracy/reliability?source=live')).body.bins, []);
    const none = await get('/api/v1/predictions/accuracy/reliability?symbols=ZZZZ');
    assert.deepEqual([none.body.rows, none.body.bins, none.body.brier_score], [0, [], null]);
  });

  test('history: issue and target dates, every order_by, paging, [] for nothing', async () => {
    const byDate = await get('/api/v1/predictions/history/AAPL?limit=3');
    assert.equal(byDate.body[0]?.issue_date, '2024-12-31');
    assert.equal(byDate.body[0]?.prediction_date, byDate.body[0]?.target_date);
    const byAccuracy = await get('/api/v1/predictions/history?order_by=accuracy&limit=50');
    const errors = byAccuracy.body.map((r) => r.accuracy_mape as number);
    assert.deepEqual(errors, [...errors].sort((a, b) => a - b));
    const byConfidence = await get('/api/v1/predictions/history/AAPL?order_by=confidence&order_dir=asc&limit=10');
    assert.equal(byConfidence.status, 200);
    const confidences = byConfidence.body.map((r) => r.confidence as number);
    assert.deepEqual(confidences, [...confidences].sort((a, b) => a - b));
    const page2 = await get('/api/v1/predictions/history/AAPL?limit=2&offset=1');
    assert.deepEqual(page2.body[0], byDate.body[1]);
    const none = await get('/api/v1/predictions/history/ZZZZ');
    assert.equal(none.status, 200);
    assert.deepEqual(none.body, []);
    const window = await get('/api/v1/predictions/history/AAPL?start_date=2024-06-03&end_date=2024-06-03');
    assert.equal(window.body.length, 5);
  });

  test('performance, trends and top performers', async () => {
    const perf = await get('/api/v1/predictions/performance');
    assert.equal(perf.status, 200);
    assert.equal(perf.body.total_symbols, 1);
    assert.equal(perf.body.predictions_with_actual, 1260);
    const trends = await get('/api/v1/predictions/trends/AAPL?days=10&horizon=1&window=5');
    const days = trends.body.trends as Json[];
    assert.equal(days.length, 10);
    // The rolling ratio of a day: summed errors over it and the 4 target days before it (one row per day at step 1).
    const rows = (await allHistory('AAPL')).filter((r) => r.horizon === 1);
    for (const day of days) {
      const window = rows.filter((r) => (r.target_date as string) <= (day.date as string)).slice(-5);
      const ratio = window.reduce((a, r) => a + (r.abs_error as number), 0) / window.reduce((a, r) => a + (r.naive_abs_error as number), 0);
      assert.ok(Math.abs((day.rolling_mae_ratio as number) - ratio) < 1e-9, `${String(day.date)}: ${String(day.rolling_mae_ratio)} vs ${ratio}`);
    }
    const top = await get('/api/v1/predictions/top-performers?min_matured=100');
    assert.deepEqual(top.body.map((t) => t.symbol), ['AAPL']);
    assert.deepEqual((await get('/api/v1/predictions/top-performers?min_matured=100000')).body, []);
  });

  test('POST daily-run: API key, v3.4 body, a past date is idempotent, the future is refused; daily-status reports it', async () => {
    assert.equal((await post('/api/v1/predictions/daily-run', {}, null)).status, 401);
    const run = await post('/api/v1/predictions/daily-run', { symbols: ['aapl'], date: '2024-12-31T21:00:00Z', force_execute: false });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.status, 'completed');
    assert.equal(run.body.recorded_forecasts, 0, 'the backfill already holds 31 Dec: nothing new');
    assert.deepEqual(run.body.symbols_succeeded, ['AAPL']);
    const closed = await post('/api/v1/predictions/daily-run', { symbols: ['AAPL'], date: '2024-12-25' });
    assert.equal(closed.body.status, 'skipped');
    const future = await post('/api/v1/predictions/daily-run', { date: '2999-01-04' });
    assert.equal(future.status, 400);
    assert.equal(future.body.code, 'INVALID_REQUEST');
    const status = await get('/api/v1/predictions/daily-status');
    assert.equal(status.body.last_execution_date, '2024-12-25');
    assert.equal(status.body.last_execution_status, 'skipped');
    assert.equal(status.body.is_enabled, false);
    assert.equal(status.body.next_scheduled_run, null);
    // A run whose symbol fails answers with the reason, and the reason is in the application log for the operator.
    const failed = await post('/api/v1/predictions/daily-run', { symbols: ['SPY'], date: '2025-10-08' });
    assert.equal(failed.body.status, 'failed');
    assert.deepEqual(failed.body.symbols_processed, ['SPY']);
    const logFile = path.join(target().root, 'logs', 'application', 'stock-prediction.log');
    const warning = await waitFor('the warning in the log', async () =>
      (await readFile(logFile, 'utf8')).split('\n').find((line) => line.includes('daily prediction run finished with failures')),
    );
    assert.match(warning, /"level":40,/);
    assert.match(warning, /"error":"SPY: no bar for 2025-10-08 yet \(latest 2025-10-07\)/);
  });

  test('POST update-actual re-scores the forecasts of that day; no forecast is a 404', async () => {
    const res = await post('/api/v1/predictions/update-actual', { symbol: 'AAPL', date: '2024-12-31', actual_close: 250 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.scored, 5, 'one forecast per step issued 5 sessions before targets 31 Dec');
    const rows = await get('/api/v1/predictions/history/AAPL?start_date=2024-12-23&end_date=2024-12-31&limit=100');
    assert.ok(rows.body.filter((r) => r.target_date === '2024-12-31').every((r) => r.actual_close === 250));
    const missing = await post('/api/v1/predictions/update-actual', { symbol: 'MSFT', date: '2024-12-31', actual_close: 400 });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'TRACKED_FORECAST_NOT_FOUND');
  });

  test('bad input to every route is a 4xx JSON error in the contract shape, and changes nothing', async () => {
    const before = (await allHistory('AAPL')).length;
    const bad: [string, string, unknown?][] = [
      ['GET', '/api/v1/predictions/accuracy/summary?start_date=2024-13-01'],
      ['GET', '/api/v1/predictions/accuracy/summary?start_date=2024-02-01&end_date=2024-01-01'],
      ['GET', '/api/v1/predictions/accuracy/range?group_by=planet'],
      ['GET', '/api/v1/predictions/accuracy/range?symbols=AAPL,bad$'],
      ['GET', '/api/v1/predictions/accuracy/bad$sym'],
      ['GET', '/api/v1/predictions/accuracy/AAPL?horizon=0'],
      ['GET', '/api/v1/predictions/accuracy/AAPL?source=replayed'],
      ['GET', '/api/v1/predictions/accuracy/reliability?bins=0'],
      ['GET', '/api/v1/predictions/accuracy/reliability?bins=many'],
      ['GET', '/api/v1/predictions/accuracy/reliability?symbols=$$'],
      ['GET', '/api/v1/predictions/accuracy/reliability?start_date=2024-02-01&end_date=2024-01-01'],
      ['GET', '/api/v1/predictions/accuracy/reliability?horizon=2'],
      ['GET', '/api/v1/predictions/history?order_by=price'],
      ['GET', '/api/v1/predictions/history?limit=0'],
      ['GET', '/api/v1/predictions/history/AAPL?offset=-1'],
      ['GET', '/api/v1/predictions/history/AAPL?include_in_sample=maybe'],
      ['GET', '/api/v1/predictions/history/bad$sym'],
      ['GET', '/api/v1/predictions/history?source=replayed&matured=perhaps'],
      ['GET', '/api/v1/predictions/trends/AAPL?days=abc'],
      ['GET', '/api/v1/predictions/trends/AAPL?window=0'],
      ['GET', '/api/v1/predictions/trends/bad$'],
      ['GET', '/api/v1/predictions/top-performers?limit=1000'],
      ['GET', '/api/v1/predictions/performance?unknown=1'],
      ['GET', '/api/v1/predictions/daily-status?x=1'],
      ['POST', '/api/v1/predictions/daily-run', { symbols: 'AAPL' }],
      ['POST', '/api/v1/predictions/daily-run', { date: 'yesterday' }],
      ['POST', '/api/v1/predictions/daily-run', { force_execute: 'yes' }],
      ['POST', '/api/v1/predictions/update-actual', { symbol: 'AAPL', date: '2024-12-31', actual_close: -1 }],
      ['POST', '/api/v1/predictions/update-actual', { symbol: 'AAPL', date: '2024-02-30', actual_close: 1 }],
      ['POST', '/api/v1/predictions/update-actual', { date: '2024-12-31', actual_close: 1 }],
    ];
    for (const [method, url, payload] of bad) {
      const res = await server.app.inject({ method: method as 'GET' | 'POST', url, ...(payload === undefined ? {} : { payload: payload as Json }), headers: { 'x-api-key': API_KEY } });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${method} ${url}: ${res.statusCode}`);
      const body = res.json() as Json;
      assert.equal(body.status, res.statusCode, url);
      assert.equal(typeof body.error, 'string', url);
      assert.equal(typeof body.code, 'string', url);
      assert.equal(typeof body.timestamp, 'string', url);
    }
    assert.equal((await allHistory('AAPL')).length, before);
  });

  test('a restart keeps every record', async () => {
    const before = await allHistory('AAPL');
    await server.app.close();
    await start();
    assert.deepEqual(await allHistory('AAPL'), before);
  });

  test('bars appended to the CSV while the service runs get the live forecasts scored by the next watcher pass', { timeout: 300_000 }, async () => {
    const run = await post('/api/v1/predictions/daily-run', { symbols: ['AAPL'], date: '2025-10-08' });
    assert.equal(run.body.recorded_forecasts, 5);
    const live = await get('/api/v1/predictions/history/AAPL?start_date=2025-10-08');
    assert.ok(live.body.every((r) => r.backfilled === false && r.actual_close === null));
    assert.equal(live.body.find((r) => r.horizon === 1)?.target_date, '2025-10-09');
    await appendFile(path.join(target().root, 'stock_data', 'historical', 'AAPL.csv'), '2025-10-09,255,257,253,256.5,256.5,40000000\n');
    let scored: Json | undefined;
    for (let i = 0; i < 600 && !scored; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const rows = await get('/api/v1/predictions/history/AAPL?start_date=2025-10-08&matured=true');
      scored = rows.body.find((r) => r.target_date === '2025-10-09');
    }
    assert.ok(scored, 'scored by the watcher without any request asking for it');
    assert.equal(scored.actual_close, 256.5);
    const accuracy = await get('/api/v1/predictions/accuracy/AAPL?start_date=2025-10-09');
    assert.equal(accuracy.body.live_predictions, 5);
    assert.equal(accuracy.body.predictions_with_actual, 1, 'only the step whose day has closed');
    // Live and backfilled apart: by_source, and the source filter every accuracy route takes.
    const all = await get('/api/v1/predictions/accuracy/AAPL?horizon=1');
    const liveGroup = (all.body.by_source as Json[]).find((g) => g.group === 'live');
    assert.equal(liveGroup?.predictions_with_actual, 1);
    assert.equal(liveGroup?.mae, scored.abs_error);
    assert.equal((all.body.by_source as Json[]).find((g) => g.group === 'backfilled')?.predictions_with_actual, 252);
    assert.equal((await get('/api/v1/predictions/accuracy/AAPL?horizon=1&source=live')).body.mae, scored.abs_error);
    const reliability = await get('/api/v1/predictions/accuracy/reliability?symbols=AAPL&source=live');
    assert.deepEqual((reliability.body.bins as Json[]).map((b) => [b.count, b.live, b.mean_confidence]), [[1, 1, scored.confidence]]);
    // …and in /metrics, refreshed by the same pass.
    let metrics = '';
    for (let i = 0; i < 50 && !metrics.includes('source="live"'); i += 1) {
      metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
      if (!metrics.includes('source="live"')) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.match(metrics, /^tracking_matured_forecasts\{symbol="AAPL",horizon_bucket="1",source="live"\} 1$/m);
    assert.match(metrics, /^tracking_mae_ratio\{symbol="AAPL",horizon_bucket="2-5",source="backfilled"\} \d/m);
  });
});
