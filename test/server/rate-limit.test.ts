import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import rateLimitPlugin, { FixedWindowLimiter, type RateLimitOptions } from '../../src/server/plugins/rate-limit.js';

/** A one-route app behind the limiter, with a clock the test moves. */
async function limitedApp(options: Omit<RateLimitOptions, 'now'>) {
  let now = 1_000_000;
  const app = Fastify({ trustProxy: true });
  await app.register(rateLimitPlugin, { ...options, now: () => now });
  app.get('/api/v1/thing', async () => ({ ok: true }));
  app.get('/health/live', async () => ({ ok: true }));
  await app.ready();
  const get = (ip: string, url = '/api/v1/thing') => app.inject({ method: 'GET', url, remoteAddress: ip });
  return { app, get, advance: (ms: number) => (now += ms) };
}

describe('rate limit plugin', () => {
  it('answers 429 with Retry-After and the contract JSON body once the limit is reached', async () => {
    const { app, get } = await limitedApp({ max: 2, windowSeconds: 60 });
    assert.equal((await get('10.0.0.1')).statusCode, 200);
    assert.equal((await get('10.0.0.1')).statusCode, 200);
    const res = await get('10.0.0.1');
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '60');
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = JSON.parse(res.body) as { error: string; status: number; timestamp: string };
    assert.equal(body.status, 429);
    assert.match(body.error, /rate limit exceeded/);
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
    await app.close();
  });

  it('counts each client separately, by the forwarded address when the proxy is trusted', async () => {
    const { app, get } = await limitedApp({ max: 1, windowSeconds: 60 });
    assert.equal((await get('10.0.0.1')).statusCode, 200);
    assert.equal((await get('10.0.0.1')).statusCode, 429);
    assert.equal((await get('10.0.0.2')).statusCode, 200, 'another client is not limited');
    const forwarded = (client: string) => app.inject({ method: 'GET', url: '/api/v1/thing', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': client } });
    assert.equal((await forwarded('203.0.113.7')).statusCode, 200);
    assert.equal((await forwarded('203.0.113.8')).statusCode, 200, 'clients behind the same proxy are counted apart');
    assert.equal((await forwarded('203.0.113.7')).statusCode, 429);
    await app.close();
  });

  it('serves the client again once its window has passed, and Retry-After counts down', async () => {
    const { app, get, advance } = await limitedApp({ max: 1, windowSeconds: 10 });
    assert.equal((await get('10.0.0.1')).statusCode, 200);
    advance(7_500);
    const res = await get('10.0.0.1');
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '3');
    advance(2_500);
    assert.equal((await get('10.0.0.1')).statusCode, 200, 'a new window starts');
    assert.equal((await get('10.0.0.1')).statusCode, 429);
    await app.close();
  });

  it('never counts exempt requests', async () => {
    const { app, get } = await limitedApp({ max: 1, windowSeconds: 60, exempt: (request) => request.url.startsWith('/health') });
    for (let i = 0; i < 5; i += 1) assert.equal((await get('10.0.0.1', '/health/live')).statusCode, 200);
    assert.equal((await get('10.0.0.1')).statusCode, 200);
    await app.close();
  });

  it('stays within maxClients, dropping expired windows first', () => {
    let now = 0;
    const limiter = new FixedWindowLimiter(1, 1, () => now, 3);
    for (const client of ['a', 'b', 'c']) assert.equal(limiter.hit(client), 0);
    now = 1_500; // a, b and c have expired
    assert.equal(limiter.hit('d'), 0);
    assert.equal(limiter.size, 1);
    for (const client of ['e', 'f', 'g']) assert.equal(limiter.hit(client), 0);
    assert.equal(limiter.size, 3, 'full of live windows: the oldest client is forgotten');
    assert.ok(limiter.hit('g') > 0, 'the newest clients are still limited');
  });
});
