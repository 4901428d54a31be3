import assert from 'node:assert/strict';
import { cp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ModelStore } from '../../src/model-store/store.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { startServiceProcess, waitFor, waitReady } from '../helpers/service-process.js';
import { makeDataDir, startApp, startServiceOn, withTinyModels } from './fixtures.js';

interface Json {
  [key: string]: unknown;
}

interface HealthJson {
  status: string;
  services: Record<string, { status: string; message: string }>;
}

/** A sample's value in Prometheus text (the unlabelled series). */
function metric(text: string, name: string): string | undefined {
  return text.split('\n').find((line) => line.startsWith(`${name} `))?.split(' ')[1];
}

async function health(base: string): Promise<HealthJson> {
  return (await (await fetch(`${base}/health`)).json()) as HealthJson;
}

describe('/health sees what it used to miss', () => {
  const models = withTinyModels(['nvda', 'global']);

  it('a frozen Redis (SIGSTOP) is degraded within the PING timeout while predictions keep coming; SIGCONT heals it', async (t) => {
    const redis = await startRedisServer();
    t.after(() => redis.stop());
    const dataDir = await makeDataDir();
    const { app } = await startApp(models(), dataDir, { REDIS_URL: redis.url, LOAD_MAX_EVENT_LOOP_DELAY: '0', LOAD_MAX_QUEUE_WAIT: '0' });
    // after-hooks run in the order they were added: the app is closed before its data directory is removed
    t.after(() => app.close());
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const get = async (url: string) => app.inject({ method: 'GET', url });
    await waitFor('redis to connect', async () => (JSON.parse((await get('/health')).body) as HealthJson).services['redis']?.status === 'healthy' || undefined, 30_000);

    redis.freeze();
    const frozen = await get('/health');
    assert.equal(frozen.statusCode, 200, 'degraded is still 200');
    const report = JSON.parse(frozen.body) as HealthJson;
    assert.equal(report.status, 'degraded');
    assert.equal(report.services['redis']?.status, 'degraded');
    assert.match(report.services['redis']?.message ?? '', /not answering PING within \d+ ms/);
    assert.equal((await get('/api/v1/predict/NVDA?days=4')).statusCode, 200, 'predictions are served from the other tiers');
    // The connection is still open: only a PING tells that Redis is gone, and the rate limit counts per process.
    assert.equal(metric((await get('/metrics')).body, 'redis_up'), '0');
    assert.ok(Number(metric((await get('/metrics')).body, 'rate_limit_local_fallbacks_total')) >= 1, 'requests were counted per process, not failed');

    redis.thaw();
    await waitFor('redis to answer again', async () => (JSON.parse((await get('/health')).body) as HealthJson).services['redis']?.status === 'healthy' || undefined, 30_000);
    assert.match((JSON.parse((await get('/health')).body) as HealthJson).services['redis']?.message ?? '', /connected, PING/);
    assert.equal(metric((await get('/metrics')).body, 'redis_up'), '1');
  });

  it('a model whose current version was refused is degraded naming it, before and after a restart (real process)', async (t) => {
    const { service, base, layout, env } = await startServiceOn(t, models(), { MODEL_WATCH_INTERVAL: '0.5s' });
    await waitReady(base, service);
    assert.equal((await health(base)).services['models']?.status, 'healthy');
    // A new NVDA version that is not what it claims to be (a copy of another version's files), made current.
    const store = new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers });
    const good = await store.currentVersion('nvda');
    assert.ok(good);
    const bad = 'v20990101T000000Z';
    await cp(store.versionDir('nvda', good), store.versionDir('nvda', bad), { recursive: true });
    await writeFile(path.join(store.modelDir('nvda'), 'CURRENT'), `${bad}\n`);

    const refused = await waitFor('the watch to refuse the version', async () => {
      const report = await health(base);
      return report.services['models']?.status === 'degraded' ? report : undefined;
    }, 30_000, 200);
    assert.equal(refused.status, 'degraded');
    assert.match(refused.services['models']?.message ?? '', new RegExp(`nvda serves ${good}: its current version ${bad}`));
    const before = (await (await fetch(`${base}/api/v1/predict/NVDA?days=2`)).json()) as Json;
    assert.equal(before['model_version'], good, 'the working version keeps serving');

    service.kill('SIGTERM');
    assert.equal((await service.done).code, 0);
    // stopped within the test, before the after-hooks remove its data directory
    const restarted = startServiceProcess(env);
    try {
      await waitReady(base, restarted);
      const after = await health(base);
      assert.equal(after.status, 'degraded', 'not "healthy, N ready" while NVDA is answered by another model');
      assert.match(after.services['models']?.message ?? '', /failed: nvda \(answered by the global model\)/);
      const prediction = (await (await fetch(`${base}/api/v1/predict/NVDA?days=2`)).json()) as Json;
      assert.equal((prediction['model'] as Json)['key'], 'global');
    } finally {
      restarted.kill('SIGKILL');
      await restarted.done;
    }
  });
});
