import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { makeDataDir, startApp, trainTinyModels, type ModelsFixture, type TestServer } from './fixtures.js';

interface Json {
  [key: string]: unknown;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds (under-pressure samples once a second), at most ~15 s. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 150; i += 1) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`never happened: ${what}`);
}

const metric = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

describe('load shedding (@fastify/under-pressure, admission control on uncached predictions)', () => {
  let models: ModelsFixture;
  const servers: TestServer[] = [];

  before(async () => {
    models = await trainTinyModels(['nvda']);
  });
  after(async () => {
    for (const server of servers) await server.app.close();
    await models.cleanup();
  });

  const startServer = async (env: Record<string, string>) => {
    const server = await startApp(models, await makeDataDir(), env);
    servers.push(server);
    return server;
  };
  const start = async (env: Record<string, string>) => {
    const server = await startServer(env);
    return (url: string) => server.app.inject({ method: 'GET', url });
  };

  it('over the heap limit: API requests get 503 OVERLOADED with Retry-After in the contract shape; probes and metrics are served and tell the truth', async () => {
    const get = await start({ LOAD_MAX_HEAP_BYTES: '1', LOAD_RETRY_AFTER: '7' });
    await eventually(async () => (await get('/api/v1/predict/NVDA')).statusCode === 503, 'a shed prediction');
    const shed = await get('/api/v1/predict/NVDA?days=2');
    assert.equal(shed.statusCode, 503);
    assert.equal(shed.headers['retry-after'], '7');
    const body = JSON.parse(shed.body) as Json;
    assert.equal(body['status'], 503);
    assert.equal(body['code'], 'OVERLOADED');
    assert.match(body['error'] as string, /overloaded \(heap \d+ MiB > 0 MiB\)/);
    assert.ok(!Number.isNaN(Date.parse(body['timestamp'] as string)));

    assert.equal((await get('/health/live')).statusCode, 200);
    assert.equal((await get('/health/ready')).statusCode, 200, 'models are loaded: readiness says so even while shedding');
    assert.equal((await get('/metrics')).statusCode, 200);
    for (const url of ['/health', '/api/v1/health']) {
      const health = await get(url);
      assert.equal(health.statusCode, 200);
      const report = JSON.parse(health.body) as { status: string; services: Record<string, { status: string; message: string }> };
      assert.equal(report.status, 'degraded');
      assert.equal(report.services['load']?.status, 'degraded');
      assert.match(report.services['load']?.message ?? '', /shedding load/);
    }
  });

  it('a blocked event loop sheds requests, and serving resumes by itself once the loop is free again', async () => {
    const get = await start({ LOAD_MAX_EVENT_LOOP_DELAY: '50' });
    // Start-up (model loading) and a loaded test machine can lag the loop for a moment: wait for a calm sample.
    await eventually(async () => (await get('/api/v1/predict/NVDA')).statusCode === 200, 'serving before the overload');
    await eventually(
      async () => (JSON.parse((await get('/health')).body) as { services: Record<string, { status: string }> }).services['load']?.status === 'healthy',
      'load reported healthy',
    );
    // Synchronous work of 300 ms at a time: the loop's mean delay goes far above 50 ms. under-pressure samples on a
    // timer, so on a loaded machine one burst can fall between samples: keep blocking until a request is shed (~15 s).
    let shed = await get('/api/v1/predict/NVDA?days=3');
    for (let burst = 0; burst < 50 && shed.statusCode !== 503; burst += 1) {
      const end = Date.now() + 300;
      while (Date.now() < end);
      await sleep(1);
      shed = await get('/api/v1/predict/NVDA?days=3');
    }
    assert.equal(shed.statusCode, 503, shed.body);
    assert.match((JSON.parse(shed.body) as Json)['error'] as string, /event loop delay \d+ ms > 50 ms/);
    assert.equal((await get('/health/live')).statusCode, 200);
    await eventually(async () => (await get('/api/v1/predict/NVDA?days=3')).statusCode === 200, 'serving again after the overload');
  });

  it('concurrent uncached batches beyond the slots and the queue-wait budget get 503 + Retry-After; cached answers and probes are served; serving resumes', async () => {
    // The shipped models (window 30, horizon 60): a batch of 7 symbols at days 41..60 computes 7 long forecasts, so
    // with one slot and a 2 ms budget the batches queued behind the first are shed however fast or loaded the machine.
    const server = await startApp(models, await makeDataDir(), { LOAD_COMPUTE_SLOTS: '1', LOAD_MAX_QUEUE_WAIT: '2', LOAD_RETRY_AFTER: '2' }, {
      shippedModelsDir: path.join(repoRoot, 'models'),
    });
    servers.push(server);
    const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
    const call = async (url: string, body?: unknown) => {
      const res = await fetch(`${base}${url}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Json };
    };
    assert.equal((await call('/api/v1/predict/NVDA?days=1')).status, 200);
    const symbols = ['AAPL', 'AMZN', 'GOOGL', 'MSFT', 'NVDA', 'SPY', 'TSLA'];
    const batch = (days: number) => ({ symbols: Array.from({ length: 49 }, (_, i) => symbols[i % symbols.length]), days });
    const horizons = Array.from({ length: 20 }, (_, i) => 60 - i);

    const [burst, cached, live, ready] = await Promise.all([
      Promise.all(horizons.map((days) => call('/api/v1/predict', batch(days)))),
      Promise.all(horizons.map(() => call('/api/v1/predict/NVDA?days=1'))),
      call('/health/live'),
      call('/health/ready'),
    ]);
    const shed = burst.filter((r) => r.status === 503);
    const served = burst.filter((r) => r.status === 200);
    assert.equal(shed.length + served.length, burst.length, `only 200 or 503: ${JSON.stringify(burst.map((r) => r.status))}`);
    assert.ok(shed.length > 0, 'batches were shed');
    assert.ok(served.length > 0, 'the batch that got the slot was served');
    for (const r of served) assert.equal((r.body['predictions'] as unknown[]).length, 49, 'a served batch is whole');
    for (const r of shed) {
      assert.equal(r.retryAfter, '2');
      assert.equal(r.body['code'], 'OVERLOADED');
      assert.equal(r.body['status'], 503);
      assert.match(r.body['error'] as string, /overloaded \(waited \d+ ms for one of 1 prediction slots > 2 ms\)/);
    }
    assert.deepEqual(
      cached.map((r) => [r.status, r.body['cached']]),
      horizons.map(() => [200, true]),
      'a cached answer never waits for a slot, so it is never shed',
    );
    assert.equal(live.status, 200);
    assert.equal(ready.status, 200);

    // Within the Retry-After period /health says so, and the shed requests are counted by reason.
    const health = await call('/health');
    const load = (health.body['services'] as Record<string, { status: string; message: string }>)['load'];
    assert.equal(health.status, 200);
    assert.equal(load?.status, 'degraded');
    assert.match(load?.message ?? '', /^shedding load \(503 \+ Retry-After\): .*uncached predictions: \d of 1 slots busy/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.equal(metric(metrics, 'requests_shed_total{reason="queue_wait"}'), shed.length);

    // The load is gone: the shed batches are served one at a time, and health turns healthy after Retry-After.
    for (const days of horizons) assert.equal((await call('/api/v1/predict', batch(days))).status, 200);
    await eventually(async () => ((await call('/health')).body['services'] as Record<string, { status: string }>)['load']?.status === 'healthy', 'load healthy again');
  });
});
