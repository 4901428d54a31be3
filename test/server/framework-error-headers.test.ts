import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDataDir, startApp, type ModelsFixture, type TestServer } from './fixtures.js';

/** The headers a browser reads on an answer to a cross-origin request. */
const CORS_HEADERS = ['access-control-allow-origin', 'access-control-expose-headers', 'vary'] as const;
const corsOf = (headers: Record<string, unknown>) => Object.fromEntries(CORS_HEADERS.map((name) => [name, headers[name]]));

/**
 * Errors Fastify raises while routing (a malformed escape, an over-long path segment) never run the hooks that
 * set the CORS headers; a browser on an allowed origin must still be able to read them like any other answer.
 */
describe('errors raised before routing carry the same CORS headers as every other answer', () => {
  let empty: string;
  const servers: TestServer[] = [];
  const models = (): ModelsFixture => ({ root: empty, modelsDir: empty, scalersDir: path.join(empty, 'scalers'), cleanup: async () => undefined });
  before(async () => {
    // No model is needed to route (or refuse to route) a request.
    empty = await mkdtemp(path.join(tmpdir(), 'no-models-'));
  });
  after(async () => {
    for (const server of servers) await server.app.close();
    await rm(empty, { recursive: true, force: true });
  });
  const start = async (origins: string): Promise<TestServer> => {
    const server = await startApp(models(), await makeDataDir(), { CORS_ORIGINS: origins });
    servers.push(server);
    return server;
  };

  it('CORS_ORIGINS=*: a malformed URL (400) and an over-long segment (414) read like a 404, with a request id', async () => {
    const { app } = await start('*');
    const get = (url: string) => app.inject({ method: 'GET', url, headers: { origin: 'http://any.example' } });
    const routed = await get('/api/v1/no-such-route');
    assert.equal(routed.statusCode, 404);
    assert.equal(routed.headers['access-control-allow-origin'], '*');
    for (const [url, status] of [['/api/v1/predict/%zz', 400], [`/api/v1/predict/${'A'.repeat(120)}`, 414]] as const) {
      const res = await get(url);
      assert.equal(res.statusCode, status, `${url}: ${res.body}`);
      assert.deepEqual(corsOf(res.headers), corsOf(routed.headers), url);
      assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      assert.equal((JSON.parse(res.body) as { status: number }).status, status);
    }
  });

  it('a list of origins: only a listed origin is allowed, on framework errors as on routed ones', async () => {
    const { app } = await start('http://allowed.example');
    for (const origin of ['http://allowed.example', 'http://evil.example']) {
      const routed = await app.inject({ method: 'GET', url: '/api/v1/no-such-route', headers: { origin } });
      const broken = await app.inject({ method: 'GET', url: '/api/v1/predict/%zz', headers: { origin } });
      assert.equal(broken.statusCode, 400);
      assert.deepEqual(corsOf(broken.headers), corsOf(routed.headers), origin);
    }
    const allowed = await app.inject({ method: 'GET', url: '/api/v1/predict/%zz', headers: { origin: 'http://allowed.example' } });
    assert.equal(allowed.headers['access-control-allow-origin'], 'http://allowed.example');
  });
});
