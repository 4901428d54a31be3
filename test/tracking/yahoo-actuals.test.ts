import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { send, startFixtureServer, type FixtureServer } from '../helpers/http-fixture-server.js';
import { firstBars, readRecorded } from '../helpers/yahoo-fixtures.js';
import { API_KEY, startApp, type TestServer } from '../server/fixtures.js';
import { forEachDatabase } from './databases.js';
import { shippedModels } from './shipped-models.js';

type Json = Record<string, unknown>;

interface Chart {
  chart: { result: { timestamp: number[]; indicators: { adjclose: { adjclose: number[] }[] } }[] };
}

let upstream: FixtureServer;
let recorded: string;
let chart: Chart['chart']['result'][number];
/** Sessions Yahoo "has published" so far: the upstream answers the recording cut after this many bars. */
let published = 200;

before(async () => {
  recorded = await readRecorded('NVDA');
  chart = (JSON.parse(recorded) as Chart).chart.result[0] as Chart['chart']['result'][number];
  upstream = await startFixtureServer((request, response) => {
    if (request.url.includes('/chart/NVDA')) send(response, 200, firstBars(recorded, published));
    else send(response, 404, '{}');
  });
});
after(() => upstream.close());

// Yahoo's timestamps are the sessions' opens in New York: their UTC date is the session's date.
const sessionDate = (index: number) => new Date((chart.timestamp[index] as number) * 1000).toISOString().slice(0, 10);

forEachDatabase('DATA_SOURCE=yahoo: new bars score waiting forecasts as they are stored', (target) => {
  let server: TestServer;
  let samples: string;
  before(async () => {
    published = 200;
    samples = await mkdtemp(path.join(os.tmpdir(), 'no-samples-'));
    // No stored NVDA: its bars come from the (local) Yahoo only.
    server = await startApp(
      shippedModels,
      target().root,
      { DATA_SOURCE: 'yahoo', API_BASE_URL: upstream.baseUrl, STOCK_DATA_TTL: '1s', DAILY_PREDICTION_HORIZON: '5', ...target().env },
      { sampleDataDir: samples },
    );
  });
  after(async () => {
    await server?.app.close();
    await rm(samples, { recursive: true, force: true });
  });

  test('a refresh that brings new sessions scores the matured forecasts at once, without the periodic pass', { timeout: 120_000 }, async () => {
    // Only the refresh can score here: the watcher's 30-second passes are stopped.
    await server.app.tracking.actuals.stop();
    const issued = sessionDate(published - 1);
    const run = await server.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/daily-run',
      headers: { 'x-api-key': API_KEY },
      payload: { symbols: ['NVDA'], date: issued },
    });
    assert.equal(run.statusCode, 200, run.body);
    assert.equal((run.json() as Json).recorded_forecasts, 5);
    const history = async () => {
      const res = await server.app.inject({ method: 'GET', url: `/api/v1/predictions/history/NVDA?start_date=${issued}&include_in_sample=true&order_dir=asc` });
      return res.json() as Json[];
    };
    assert.ok((await history()).every((r) => r.actual_close === null && r.backfilled === false));

    // Yahoo publishes three more sessions; the next read after STOCK_DATA_TTL refreshes the stored bars in the background.
    published = 203;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const read = await server.app.inject({ method: 'GET', url: '/api/v1/historical/NVDA?days=5' });
    assert.equal(read.statusCode, 200, read.body);
    let rows = await history();
    for (let i = 0; i < 300 && rows.filter((r) => r.actual_close !== null).length < 3; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rows = await history();
    }
    const adjclose = chart.indicators.adjclose[0]?.adjclose ?? [];
    for (const [step, row] of rows.entries()) {
      assert.equal(row.target_date, step < 3 ? sessionDate(published - 3 + step) : row.target_date);
      assert.equal(row.actual_close, step < 3 ? adjclose[published - 3 + step] : null, `step ${step + 1}`);
    }
  });
});
