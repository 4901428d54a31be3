import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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

describe('load shedding (@fastify/under-pressure)', () => {
  let models: ModelsFixture;
  const servers: TestServer[] = [];

  before(async () => {
    models = await trainTinyModels(['nvda']);
  });
  after(async () => {
    for (const server of servers) await server.app.close();
    await models.cleanup();
  });

  const start = async (env: Record<string, string>) => {
    const server = await startApp(models, await makeDataDir(), env);
    servers.push(server);
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
});
