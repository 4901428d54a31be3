import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { FileCacheTier } from '../../src/cache/file-tier.js';
import { MemoryCacheTier } from '../../src/cache/memory-tier.js';
import { RedisCacheTier } from '../../src/cache/redis-tier.js';
import type { TierStatus } from '../../src/cache/tier.js';
import { TieredCache } from '../../src/cache/tiered-cache.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

interface Prediction {
  readonly symbol: string;
  readonly price: number;
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes. */
async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('Redis tier against a real redis-server', () => {
  let server: RedisServerHandle;
  let root: string;
  /** An independent client, to look at what really reached Redis. */
  let probe: Redis;
  const unhandled: unknown[] = [];
  const recordUnhandled = (error: unknown): void => {
    unhandled.push(error);
  };

  before(async () => {
    process.on('unhandledRejection', recordUnhandled);
    process.on('uncaughtException', recordUnhandled);
    server = await startRedisServer();
    root = await mkdtemp(path.join(tmpdir(), 'redis-cache-'));
    probe = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    probe.on('error', () => undefined);
    await probe.connect();
  });
  after(async () => {
    probe.disconnect();
    await server.stop();
    await rm(root, { recursive: true, force: true });
    process.off('unhandledRejection', recordUnhandled);
    process.off('uncaughtException', recordUnhandled);
  });

  it('round-trips values through Redis with their TTL, under its own key prefix only', async () => {
    const redis = new RedisCacheTier<Prediction>({ url: server.url, ttlSeconds: 30, keyPrefix: 'test-a:' });
    try {
      assert.equal(await redis.waitUntilReady(5000), true);
      await redis.set('prediction:NVDA:v1:2025-10-08:5', { symbol: 'NVDA', price: 190.5 });
      assert.deepEqual((await redis.get('prediction:NVDA:v1:2025-10-08:5'))?.value, { symbol: 'NVDA', price: 190.5 });
      const ttl = await probe.pttl('test-a:prediction:NVDA:v1:2025-10-08:5');
      assert.ok(ttl > 25_000 && ttl <= 30_000, `PTTL ${ttl}`);

      await probe.set('someone-else:key', 'kept');
      assert.equal(await redis.size(), 1);
      await redis.clear();
      assert.equal(await redis.size(), 0);
      assert.equal(await probe.get('someone-else:key'), 'kept', 'clear() touches only this tier\'s prefix');
      assert.equal(await redis.get('prediction:NVDA:v1:2025-10-08:5'), undefined);
      assert.deepEqual(redis.counters(), { hits: 1, misses: 1 });
    } finally {
      await redis.close();
    }
  });

  it('keeps answering from memory and file while Redis is killed, reports degraded, and recovers by itself', async () => {
    const statusChanges: TierStatus[] = [];
    const redisErrors: Error[] = [];
    const redis = new RedisCacheTier<Prediction>({
      url: server.url,
      ttlSeconds: 60,
      keyPrefix: 'test-b:',
      maxReconnectDelayMs: 200,
      onStatusChange: (status) => statusChanges.push(status),
      onError: (error) => redisErrors.push(error),
    });
    const file = new FileCacheTier<Prediction>({ directory: path.join(root, 'ml_cache'), ttlSeconds: 60, maxEntries: 100 });
    const cache = new TieredCache<Prediction>({ tiers: [new MemoryCacheTier({ maxEntries: 100, ttlSeconds: 60 }), redis, file] });
    try {
      assert.equal(await redis.waitUntilReady(5000), true);
      await cache.set('warm', { symbol: 'AAPL', price: 250 });
      // set() answers once memory holds the value and writes Redis behind it; flush waits for that write.
      await cache.flush();
      assert.ok(await probe.exists('test-b:warm'), 'the write reached Redis');

      // A second service instance (fresh memory, own file folder) is answered by Redis and back-fills its memory.
      const otherFile = new FileCacheTier<Prediction>({ directory: path.join(root, 'other'), ttlSeconds: 60, maxEntries: 100 });
      const other = new TieredCache<Prediction>({ tiers: [new MemoryCacheTier({ maxEntries: 100, ttlSeconds: 60 }), redis, otherFile] });
      assert.equal((await other.get('warm'))?.tier, 'redis');
      assert.equal((await other.get('warm'))?.tier, 'memory');

      await server.kill();
      await eventually(() => !redis.status().up, 5000, 'the Redis tier to notice the kill');
      assert.deepEqual(cache.status().tiers.redis?.up, false);
      const downDetail = cache.status().tiers.redis?.detail ?? '';
      assert.ok(downDetail.length > 0, 'the status says why Redis is down');
      assert.equal(cache.status().degraded, true);

      // Still answering: memory for what it holds, file for what only the file tier holds, compute for the rest.
      assert.deepEqual(await cache.get('warm'), { value: { symbol: 'AAPL', price: 250 }, tier: 'memory' });
      await file.set('only-on-disk', { symbol: 'MSFT', price: 510 });
      assert.equal((await cache.get('only-on-disk'))?.tier, 'file');
      let computed = 0;
      const answer = await cache.getOrCompute('while-down', async () => {
        computed += 1;
        return { symbol: 'TSLA', price: 430 };
      });
      assert.deepEqual(answer, { value: { symbol: 'TSLA', price: 430 }, tier: undefined });
      assert.equal(computed, 1);
      assert.equal((await cache.get('while-down'))?.tier, 'memory');
      assert.ok((await cache.report()).some((tier) => tier.name === 'redis' && !tier.up && tier.size === 0));

      // Stay down long enough for several reconnect attempts to be refused.
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.equal(redis.status().up, false);
      await server.restart();
      await eventually(() => redis.status().up, 10_000, 'the Redis tier to reconnect on its own');
      assert.equal(cache.status().degraded, false);
      await eventually(async () => (await probe.ping().catch(() => '')) === 'PONG', 5000, 'the probe to reconnect');

      await cache.set('after-restart', { symbol: 'NVDA', price: 191 });
      await cache.flush();
      assert.deepEqual(JSON.parse((await probe.get('test-b:after-restart')) ?? '{}').value, { symbol: 'NVDA', price: 191 });
      assert.deepEqual(
        statusChanges.map((status) => status.up),
        [true, false, true],
        'one transition down on the kill and one up on the restart',
      );
      assert.ok(
        redisErrors.some((error) => /ECONNREFUSED/.test(error.message)),
        `refused reconnects reach onError, not the process: ${redisErrors.map((error) => error.message).join(' | ')}`,
      );
      assert.deepEqual(unhandled, [], 'no unhandled errors or rejections');
    } finally {
      await cache.close();
    }
  });

  it('at its memory limit Redis refuses cache writes, evicts nothing, and the cache answers from memory and computes', async () => {
    const redisErrors: Error[] = [];
    const redis = new RedisCacheTier<Prediction>({ url: server.url, ttlSeconds: 60, keyPrefix: 'test-oom:', onError: (error) => redisErrors.push(error) });
    const cache = new TieredCache<Prediction>({ tiers: [new MemoryCacheTier({ maxEntries: 100, ttlSeconds: 60 }), redis] });
    try {
      assert.equal(await redis.waitUntilReady(5000), true);
      // A queue's job (no TTL) stored before the limit is reached: the policy that setup writes must keep it.
      await probe.set('bull:training:1', 'job');
      await probe.config('SET', 'maxmemory-policy', 'noeviction');
      await probe.config('SET', 'maxmemory', '1');
      let computed = 0;
      const answer = await cache.getOrCompute('at-limit', async () => {
        computed += 1;
        return { symbol: 'NVDA', price: 190 };
      });
      await cache.flush();
      assert.deepEqual([answer.value, computed], [{ symbol: 'NVDA', price: 190 }, 1]);
      assert.equal(await probe.exists('test-oom:at-limit'), 0, 'the write was refused');
      assert.ok(redisErrors.some((error) => /OOM/.test(error.message)), redisErrors.map((error) => error.message).join(' | '));
      assert.deepEqual(await cache.get('at-limit'), { value: { symbol: 'NVDA', price: 190 }, tier: 'memory' });
      assert.equal(await probe.get('bull:training:1'), 'job', 'nothing evicted');
      assert.deepEqual(unhandled, []);
    } finally {
      await probe.config('SET', 'maxmemory', '0');
      await probe.del('bull:training:1');
      await cache.close();
    }
  });

  it('treats a stalled Redis as a miss after the command timeout instead of waiting', async () => {
    const redis = new RedisCacheTier<Prediction>({ url: server.url, ttlSeconds: 60, keyPrefix: 'test-c:', commandTimeoutMs: 150 });
    const cache = new TieredCache<Prediction>({
      tiers: [redis, new FileCacheTier({ directory: path.join(root, 'stall'), ttlSeconds: 60, maxEntries: 10 })],
    });
    try {
      assert.equal(await redis.waitUntilReady(5000), true);
      await cache.set('k', { symbol: 'SPY', price: 660 });
      // CLIENT PAUSE stops Redis from serving other clients' commands for 1.5 s.
      await probe.call('CLIENT', 'PAUSE', '1500', 'ALL');
      const started = performance.now();
      const hit = await cache.get('k');
      const waited = performance.now() - started;
      assert.equal(hit?.tier, 'file', 'answered by the next tier');
      assert.ok(waited < 1500, `waited ${waited} ms, i.e. for Redis to resume`);
      assert.equal(redis.counters().misses, 1);
      assert.deepEqual(unhandled, []);
    } finally {
      await probe.call('CLIENT', 'UNPAUSE');
      await cache.close();
    }
  });
});
