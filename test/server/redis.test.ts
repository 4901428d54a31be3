import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { makeDataDir, startApp, trainTinyModels, type ModelsFixture, type TestServer } from './fixtures.js';

interface Json {
  [key: string]: unknown;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('Redis loss and recovery with a real redis-server', () => {
  let models: ModelsFixture;
  let redis: RedisServerHandle;
  let server: TestServer;
  let client: Redis;

  before(async () => {
    models = await trainTinyModels(['nvda', 'global']);
    redis = await startRedisServer();
    client = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 200 });
    client.on('error', () => undefined);
    server = await startApp(models, await makeDataDir(), { REDIS_URL: redis.url });
  });
  after(async () => {
    await server.app.close();
    client.disconnect();
    await redis.stop();
    await models.cleanup();
  });

  const get = (url: string) => server.app.inject({ method: 'GET', url });
  const health = async (): Promise<Json> => JSON.parse((await get('/api/v1/health')).body) as Json;
  const redisKeys = async (): Promise<string[]> => {
    if (client.status !== 'ready') await client.connect().catch(() => undefined);
    // Right after a restart the test's own client may still be reconnecting (it has no offline queue): no keys seen yet.
    if (client.status !== 'ready') return [];
    return client.keys('*prediction:*');
  };
  const metric = async (name: string): Promise<string | undefined> =>
    (await get('/metrics')).body.split('\n').find((line) => line.startsWith(`${name} `))?.split(' ')[1];

  it('caches predictions in Redis, keeps answering while Redis is down (degraded), and recovers by itself', async () => {
    await eventually(async () => (await health())['status'] === 'healthy', 'redis connected');
    assert.equal(await metric('redis_up'), '1');
    assert.equal(await metric('redis_configured'), '1');

    const first = await get('/api/v1/predict/NVDA?days=3');
    assert.equal(first.statusCode, 200);
    // Redis is written in the background once the answer is out.
    await eventually(async () => (await redisKeys()).length === 1, 'the prediction reached Redis');
    const keys = await redisKeys();
    assert.equal(keys.length, 1, 'the prediction is stored in Redis');
    assert.match(keys[0] ?? '', /NVDA/);
    const stored = await client.get(keys[0] as string);
    assert.equal((JSON.parse(stored ?? '{}') as { value: Json }).value['predicted_price'], (JSON.parse(first.body) as Json)['predicted_price']);

    await redis.kill();
    for (let i = 0; i < 10; i += 1) {
      const res = await get(`/api/v1/predict/NVDA?days=${(i % 5) + 1}`);
      assert.equal(res.statusCode, 200, `prediction ${i} while Redis is down: ${res.body}`);
    }
    const batch = await server.app.inject({ method: 'POST', url: '/api/v1/predict', payload: { symbols: ['AAPL', 'MSFT'], days: 7 } });
    assert.equal(batch.statusCode, 200);
    assert.equal((JSON.parse(batch.body) as { predictions: unknown[] }).predictions.length, 2);
    await eventually(async () => (await health())['status'] === 'degraded', 'health degraded');
    const degraded = await get('/api/v1/health');
    assert.equal(degraded.statusCode, 200, 'degraded is still 200');
    assert.equal(((JSON.parse(degraded.body) as Json)['services'] as Record<string, Json>)['redis']?.['status'], 'degraded');
    assert.equal(await metric('redis_up'), '0');
    assert.equal((await get('/health/ready')).statusCode, 200);

    await redis.restart();
    await eventually(async () => (await health())['status'] === 'healthy', 'health back to healthy after restart');
    assert.equal(await metric('redis_up'), '1');
    // The restarted server is empty: a new prediction lands in it.
    const after = await get('/api/v1/predict/TSLA?days=2');
    assert.equal(after.statusCode, 200);
    await eventually(async () => (await redisKeys()).some((k) => k.includes('TSLA')), 'new prediction cached in the restarted Redis');
    // And the next read of it is a cache hit.
    assert.equal((JSON.parse((await get('/api/v1/predict/TSLA?days=2')).body) as Json)['cached'], true);
  });
});
