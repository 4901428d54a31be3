import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { QUEUE_PREFIX, TRAINING_QUEUE } from '../../src/jobs/queues.js';
import { startWorkerRole } from '../../src/worker/worker-role.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/service-process.js';
import { API_KEY, makeDataDir, startApp, testConfig, trainTinyModels, type ModelsFixture, type TestServer } from '../server/fixtures.js';

interface Json {
  [key: string]: unknown;
}

/**
 * The job queue against a real redis-server: without a worker jobs wait in Redis, so they outlive the replica that
 * took them and any replica reads them; a job that cannot succeed is not retried; a Redis that is gone is a clear
 * 503, never a hang.
 */
describe('training jobs on the Redis queue', () => {
  let models: ModelsFixture;
  let redis: RedisServerHandle;
  const dataDirs: string[] = [];

  before(async () => {
    models = await trainTinyModels(['nvda', 'global']);
    redis = await startRedisServer();
  });
  after(async () => {
    await redis.stop();
    await models.cleanup();
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function replica(): Promise<TestServer> {
    const dataDir = await makeDataDir();
    dataDirs.push(dataDir);
    return startApp(models, dataDir, { REDIS_URL: redis.url });
  }
  const train = (server: TestServer, symbol: string) =>
    server.app.inject({ method: 'POST', url: `/api/v1/models/${symbol}/train`, headers: { 'x-api-key': API_KEY }, payload: { epochs: 3 } });
  const job = async (server: TestServer, id: string) => {
    const res = await server.app.inject({ method: 'GET', url: `/api/v1/jobs/${id}` });
    return { status: res.statusCode, body: JSON.parse(res.body) as Json };
  };

  it('a queued job outlives the replica that took it; another replica reads it and refuses a duplicate with its id', async () => {
    const first = await replica();
    const accepted = await train(first, 'NVDA');
    assert.equal(accepted.statusCode, 202, accepted.body);
    const id = String((JSON.parse(accepted.body) as Json)['job_id']);
    assert.equal(accepted.headers['location'], `/api/v1/jobs/${id}`);
    await first.app.close();

    const second = await replica();
    try {
      const seen = await job(second, id);
      assert.equal(seen.status, 200);
      assert.equal(seen.body['status'], 'queued', 'no worker runs: it waits in the queue');
      assert.equal(seen.body['symbol'], 'NVDA');
      const duplicate = await train(second, 'NVDA');
      assert.equal(duplicate.statusCode, 409, duplicate.body);
      assert.equal((JSON.parse(duplicate.body) as { details: Json }).details['job_id'], id);
      assert.equal((await train(second, 'AAPL')).statusCode, 202, 'another symbol is not blocked');
      assert.equal((await job(second, '00000000-0000-4000-8000-000000000000')).status, 404);
    } finally {
      await second.app.close();
    }
  });

  it('a job the data cannot satisfy fails on its first try with the reason, not after every retry (in-process worker role)', async () => {
    const dataDir = await makeDataDir();
    dataDirs.push(dataDir);
    const server = await startApp(models, dataDir, { REDIS_URL: redis.url, JOB_ATTEMPTS: '3', JOB_BACKOFF: '100ms' });
    const queue = new Queue(TRAINING_QUEUE, { connection: { url: redis.url }, prefix: QUEUE_PREFIX });
    // The jobs the test above left waiting are not this test's.
    await queue.drain();
    const worker = await startWorkerRole(testConfig(dataDir, { REDIS_URL: redis.url, ROLE: 'worker', LOG_LEVEL: 'silent', JOB_ATTEMPTS: '3', JOB_BACKOFF: '100ms' }));
    try {
      // A 250-bar window on at most 100 bars: too little history, whatever the try.
      const accepted = await server.app.inject({ method: 'POST', url: '/api/v1/models/MSFT/train', headers: { 'x-api-key': API_KEY }, payload: { window: 250, max_bars: 100 } });
      assert.equal(accepted.statusCode, 202, accepted.body);
      const id = String((JSON.parse(accepted.body) as Json)['job_id']);
      const failed = await waitFor('the job to fail', async () => {
        const seen = await job(server, id);
        return seen.body['status'] === 'failed' ? seen.body : undefined;
      }, 60_000, 100);
      assert.match(String(failed['error']), /needs at least \d+ bars/);
      assert.equal((await queue.getJob(id))?.attemptsMade, 1, 'tried once');
    } finally {
      await queue.close();
      await worker.close();
      await server.app.close();
    }
  });

  it('Redis frozen: the 503 names the job the request may yet have queued, and once Redis answers, that is the job a retry meets', async () => {
    const server = await replica();
    try {
      redis.freeze();
      const res = await train(server, 'GOOGL');
      redis.thaw();
      assert.equal(res.statusCode, 503, res.body);
      const body = JSON.parse(res.body) as { code: string; details: Json };
      assert.equal(body.code, 'QUEUE_UNAVAILABLE');
      const id = String(body.details['job_id']);
      // The add was on the open connection when Redis stopped: it lands when Redis goes on.
      const seen = await waitFor('the job to appear', async () => {
        const read = await job(server, id);
        return read.status === 200 ? read.body : undefined;
      }, 20_000, 100);
      assert.equal(seen['symbol'], 'GOOGL');
      const retry = await train(server, 'GOOGL');
      assert.equal(retry.statusCode, 409, retry.body);
      assert.equal((JSON.parse(retry.body) as { details: Json }).details['job_id'], id);
    } finally {
      redis.thaw();
      await server.app.close();
    }
  });

  it('Redis gone: POST /train and GET /jobs answer 503 QUEUE_UNAVAILABLE with Retry-After within seconds, predictions go on', async () => {
    const server = await replica();
    try {
      await redis.kill();
      const t0 = Date.now();
      const res = await train(server, 'NVDA');
      assert.equal(res.statusCode, 503, res.body);
      assert.equal((JSON.parse(res.body) as Json)['code'], 'QUEUE_UNAVAILABLE');
      assert.ok(Number(res.headers['retry-after']) > 0);
      assert.ok(Date.now() - t0 < 10_000, 'answered, not hung');
      const read = await job(server, '00000000-0000-4000-8000-000000000000');
      assert.equal(read.status, 503);
      assert.equal(read.body['code'], 'QUEUE_UNAVAILABLE');
      const prediction = await server.app.inject({ method: 'GET', url: '/api/v1/predict/NVDA?days=2' });
      assert.equal(prediction.statusCode, 200, 'neither the cache tier nor the rate limit fails requests for Redis');
    } finally {
      await redis.restart();
      await server.app.close();
    }
  });
});
