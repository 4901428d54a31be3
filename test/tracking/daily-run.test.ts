import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { tradingDaysBetween } from '../../src/calendar/nyse.js';
import type { Bar } from '../../src/market/bar.js';
import { CsvMarketData } from '../../src/market/csv.js';
import { dataLayout } from '../../src/config/layout.js';
import { neutralAdaptiveState, updateAdaptiveState } from '../../src/ml/evaluation/adaptive.js';
import type { Forecaster } from '../../src/ml/types.js';
import { ModelStore } from '../../src/model-store/store.js';
import { tradingSignal } from '../../src/server/prediction-body.js';
import { backfill } from '../../src/tracking/backfill.js';
import { barsKnownAt, runDaily, type TrackingDeps } from '../../src/tracking/daily-run.js';
import { openTrackingStore } from '../../src/tracking/open.js';
import type { TrackingStore } from '../../src/tracking/store.js';
import { repoRoot } from '../helpers/paths.js';
import { TRACKING_CLI } from '../helpers/tracking-cli.js';
import { testBackend } from '../ml/real-bars.js';
import { forEachDatabase } from './databases.js';

// The shipped models on the bundled prices: real forecasts, read-only.
const models = new ModelStore({ modelsDir: path.join(repoRoot, 'models'), scalersDir: path.join(repoRoot, 'models', 'scalers') });
const market = new CsvMarketData({ directory: path.join(repoRoot, 'data', 'sample') });
const forecasters = new Map<string, Forecaster>();
let aaplBars: Bar[];

before(async () => {
  await testBackend();
  for (const key of ['aapl', 'global']) forecasters.set(key, await models.loadForecaster(key));
  aaplBars = await market.getBars('AAPL');
});
after(() => forecasters.forEach((f) => f.dispose()));

function deps(store: TrackingStore, horizon = 5): TrackingDeps {
  return {
    store,
    market,
    acquire: (symbol) => {
      const key = forecasters.has(symbol.toLowerCase()) ? symbol.toLowerCase() : 'global';
      const forecaster = forecasters.get(key);
      return forecaster && { key, forecaster, release: () => undefined };
    },
    signal: (current, predicted) => tradingSignal(current, predicted, { buy: 1.01, sell: 0.99 }),
    horizon,
  };
}


forEachDatabase('daily run and backfill', (target) => {
  let store: TrackingStore;
  before(async () => {
    store = await target().openStore();
  });
  after(() => store.close());

  test('backfill: one row per session and step, each forecast from the bars known that day only, all scored', async () => {
    const run = await backfill(deps(store), { from: '2024-01-01', to: '2024-02-29', symbols: ['AAPL'] });
    const sessions = tradingDaysBetween('2024-01-01', '2024-02-29');
    assert.equal(run.status, 'completed');
    assert.equal(run.recorded_forecasts, sessions.length * 5);
    const rows = await store.query({ symbols: ['AAPL'], from: '2024-01-01', to: '2024-02-29', includeInSample: true });
    assert.equal(rows.length, sessions.length * 5);
    assert.ok(rows.every((r) => r.backfilled && !r.in_sample && r.model_key === 'aapl'));
    // No look-ahead: the stored path for 1 Feb is exactly what the model gives with nothing after 1 Feb.
    const known = aaplBars.filter((b) => b.date <= '2024-02-01');
    const expected = await (forecasters.get('aapl') as Forecaster).forecast(known, 5);
    const stored = rows.filter((r) => r.issue_date === '2024-02-01').sort((a, b) => a.horizon - b.horizon);
    assert.deepEqual(stored.map((r) => r.forecast), expected.points.map((p) => p.price));
    assert.deepEqual(stored.map((r) => r.target_date), expected.points.map((p) => p.date));
    assert.equal(stored[0]?.naive_forecast, known.at(-1)?.adjClose);
    assert.equal(stored[0]?.confidence, expected.confidence);
    assert.equal(stored[0]?.probability_up, expected.probability_up);
    assert.equal(stored[1]?.probability_up, null, 'step 1 only');
    // Scored against the CSV close of each target day.
    const close = new Map(aaplBars.map((b) => [b.date, b.adjClose]));
    for (const r of rows) {
      assert.equal(r.outcome?.actual, close.get(r.target_date), `${r.issue_date}+${r.horizon}`);
      assert.equal(r.outcome?.inside_80, (r.outcome?.actual as number) >= r.lower_80 && (r.outcome?.actual as number) <= r.upper_80);
    }
  });

  test('backfill bands: each day the model’s with the outcomes matured by then, recomputed from the stored rows', async () => {
    // the rows of the backfill above (AAPL, January and February 2024, inside the model's test split: bands start as calibrated)
    const rows = await store.query({ symbols: ['AAPL'], from: '2024-01-01', to: '2024-02-29', includeInSample: true });
    const aapl = forecasters.get('aapl') as Forecaster;
    const { adaptive_rule: rule } = aapl.metadata.calibration;
    assert.ok(rule.rate > 0, 'the shipped models adapt');
    const bandsOf = (points: readonly { lower_80: number; upper_80: number; lower_95: number; upper_95: number }[]) =>
      points.map((p) => [p.lower_80, p.upper_80, p.lower_95, p.upper_95]);
    let moved = 0;
    for (const day of ['2024-01-02', '2024-01-31', '2024-02-29']) {
      const matured = rows
        .filter((r) => r.target_date <= day)
        .sort((a, b) => (a.target_date < b.target_date ? -1 : a.target_date > b.target_date ? 1 : a.horizon - b.horizon));
      let state = neutralAdaptiveState(aapl.metadata.horizon);
      for (const r of matured) state = updateAdaptiveState(state, { step: r.horizon, covered_80: r.outcome?.inside_80 === true, covered_95: r.outcome?.inside_95 === true }, rule);
      const known = aaplBars.filter((b) => b.date <= day);
      const stored = rows.filter((r) => r.issue_date === day).sort((a, b) => a.horizon - b.horizon);
      assert.deepEqual(bandsOf(stored), bandsOf((await aapl.forecast(known, 5, { adaptive: state })).points), day);
      const calibrated = bandsOf((await aapl.forecast(known, 5)).points);
      if (matured.length === 0) assert.deepEqual(bandsOf(stored), calibrated, 'nothing matured on the first day: bands as calibrated');
      else if (JSON.stringify(bandsOf(stored)) !== JSON.stringify(calibrated)) moved += 1;
    }
    assert.ok(moved > 0, 'matured outcomes moved the bands');
  });

  test('rows whose target day lies in the data the model was fitted on are in-sample and left out by default', async () => {
    const testFrom = (forecasters.get('aapl') as Forecaster).metadata.evaluation.test_from; // 2022-10-05
    await backfill(deps(store), { from: '2022-09-26', to: '2022-10-07', symbols: ['AAPL'] });
    const rows = await store.query({ symbols: ['AAPL'], to: '2022-10-07', includeInSample: true });
    assert.ok(rows.some((r) => r.in_sample) && rows.some((r) => !r.in_sample));
    for (const r of rows) assert.equal(r.in_sample, r.target_date < testFrom, `${r.target_date} vs ${testFrom}`);
    const outOfSample = await store.query({ symbols: ['AAPL'], to: '2022-10-07' });
    assert.ok(outOfSample.every((r) => !r.in_sample));
  });

  test('a daily run skips a closed day unless forced, is idempotent, and reports failing symbols', async () => {
    const skipped = await runDaily(deps(store), { date: '2024-07-04', symbols: ['AAPL'], type: 'manual' });
    assert.equal(skipped.status, 'skipped');
    assert.match(skipped.error_message ?? '', /Independence Day/);
    const forced = await runDaily(deps(store), { date: '2024-07-04', symbols: ['AAPL'], type: 'manual', force: true });
    assert.equal(forced.status, 'completed');
    assert.equal((await store.query({ symbols: ['AAPL'], from: '2024-07-03', to: '2024-07-03' })).length, 5, 'issued after the 3 July close');

    const first = await runDaily(deps(store), { date: '2024-03-01', symbols: ['AAPL', 'SPY', 'ZZZZ'], type: 'manual' });
    assert.equal(first.status, 'completed');
    assert.deepEqual(JSON.parse(first.symbols_succeeded), ['AAPL', 'SPY']);
    assert.equal(JSON.parse(first.symbols_failed)[0].symbol, 'ZZZZ');
    assert.ok(first.scored_forecasts >= 10, `the run scored its own matured forecasts: ${first.scored_forecasts}`);
    const again = await runDaily(deps(store), { date: '2024-03-01', symbols: ['AAPL', 'SPY'], type: 'manual' });
    assert.equal(again.recorded_forecasts, 0);
    const spy = await store.query({ symbols: ['SPY'], from: '2024-03-01', to: '2024-03-01' });
    assert.equal(spy.length, 5);
    assert.equal(spy[0]?.model_key, 'global', 'SPY is answered by the global model here');
    assert.ok(spy.every((r) => r.outcome !== null), 'a past date: its matured forecasts are scored at once');
  });

  test('kill -9 in the middle of a backfill, then a re-run: exactly one row per key, none missing', { timeout: 600_000 }, async () => {
    const env = { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), PERSISTENT_DATA_PATH: target().root, TFJS_BACKEND: 'wasm', ...target().env };
    const args = [TRACKING_CLI, 'backfill', '--from', '2024-01-01', '--to', '2024-12-31', '--symbols', 'MSFT,NVDA', '--horizon-steps', '5'];
    const expected = 2 * tradingDaysBetween('2024-01-01', '2024-12-31').length * 5;
    const count = async () => (await store.query({ symbols: ['MSFT', 'NVDA'], from: '2024-01-01', to: '2024-12-31' })).length;
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let seen = 0;
    for (let i = 0; i < 1200 && seen === 0 && child.exitCode === null; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = await count();
    }
    child.kill('SIGKILL');
    await exited;
    const afterKill = await count();
    assert.ok(afterKill > 0 && afterKill < expected, `killed with ${afterKill} of ${expected} rows written`);
    assert.equal(afterKill % 5, 0, 'whole forecasts only: no partial transaction');
    const rerun = spawn(process.execPath, args, { env, stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => rerun.once('exit', resolve));
    assert.equal(code, 0);
    const rows = await store.query({ symbols: ['MSFT', 'NVDA'], from: '2024-01-01', to: '2024-12-31' });
    assert.equal(rows.length, expected);
    const keys = new Set(rows.map((r) => `${r.symbol}/${r.issue_date}/${r.horizon}/${r.model_version}`));
    assert.equal(keys.size, expected);
  });
});

test('a backfill’s bands see no close after their day: changing every later close changes none of them', async () => {
  const roots = await Promise.all([0, 1].map(() => mkdtemp(path.join(os.tmpdir(), 'backfill-lookahead-'))));
  const stores = await Promise.all(roots.map((root) => openTrackingStore({ databaseUrl: undefined, layout: dataLayout(root) })));
  try {
    const scaled = (b: Bar): Bar => (b.date > '2024-02-01' ? { ...b, open: b.open * 1.5, high: b.high * 1.5, low: b.low * 1.5, close: b.close * 1.5, adjClose: b.adjClose * 1.5 } : b);
    const altered: TrackingDeps['market'] = { getBars: async (symbol, options) => (await market.getBars(symbol, options)).map(scaled) };
    const runs = [deps(stores[0] as TrackingStore), { ...deps(stores[1] as TrackingStore), market: altered }];
    for (const d of runs) await backfill(d, { from: '2024-01-01', to: '2024-03-28', symbols: ['AAPL'] });
    const early = await Promise.all(stores.map(async (s) => (await s.query({ symbols: ['AAPL'], from: '2024-01-01', to: '2024-02-01', includeInSample: true })).map((r) => [r.issue_date, r.horizon, r.lower_80, r.upper_80, r.lower_95, r.upper_95])));
    assert.ok((early[0] as unknown[]).length > 100);
    assert.deepEqual(early[1], early[0]);
    // and the altered closes do reach the later forecasts (a 50 % jump in the returns their bands are scaled by)
    const late = await Promise.all(stores.map(async (s) => (await s.query({ symbols: ['AAPL'], from: '2024-03-28', to: '2024-03-28', includeInSample: true })).map((r) => r.upper_80 / r.forecast)));
    assert.notDeepEqual(late[1], late[0]);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
  }
});

test('bars known at a date: none after it', () => {
  const bars = [{ date: '2024-01-02' }, { date: '2024-01-03' }, { date: '2024-01-05' }] as Bar[];
  assert.deepEqual(barsKnownAt(bars, '2024-01-04').map((b) => b.date), ['2024-01-02', '2024-01-03']);
  assert.deepEqual(barsKnownAt(bars, '2024-01-01'), []);
  assert.equal(barsKnownAt(bars, '2024-01-05').length, 3);
});
