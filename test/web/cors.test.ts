import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { repoRoot } from '../helpers/paths.js';
import { API_KEY, startApp, type ModelsFixture, type TestServer } from '../server/fixtures.js';
import { launchChromium } from './browser.js';

/**
 * The original Angular UI's calls (its API base is `http://{location.hostname}:8081`, hard-coded; here the port
 * comes from the query string): the prediction card, the 30-second health poll, the historical table, and the
 * "run" button's key-protected POST. Plain XHR-style GETs without custom headers, as HttpClient sends them,
 * plus one GET with a custom header (a preflighted request) and one with credentials.
 */
const ORIGINAL_UI = `<!doctype html><meta charset="utf-8"><title>original UI</title>
<script>
const api = 'http://' + location.hostname + ':' + new URLSearchParams(location.search).get('api');
async function call(path, init) {
  try {
    const response = await fetch(api + path, init);
    return { status: response.status, body: await response.json(), requestId: response.headers.get('x-request-id') };
  } catch (error) {
    return { failed: String(error) };
  }
}
window.results = (async () => ({
  predict: await call('/api/v1/predict/NVDA'),
  health: await call('/api/v1/health'),
  historical: await call('/api/v1/historical/NVDA?days=30'),
  preflighted: await call('/api/v1/models', { headers: { 'X-Request-Id': 'ui-req-1' } }),
  withCredentials: await call('/api/v1/predict/NVDA', { credentials: 'include' }),
  protected: await call('/api/v1/cache/clear', { method: 'POST', headers: { 'X-API-Key': '${API_KEY}' } }),
}))();
</script>`;

interface CallResult {
  readonly status?: number;
  readonly body?: Record<string, unknown>;
  readonly requestId?: string | null;
  readonly failed?: string;
}
type Results = Record<'predict' | 'health' | 'historical' | 'preflighted' | 'withCredentials' | 'protected', CallResult>;

const portOf = (server: Server): number => (server.address() as AddressInfo).port;

describe('the original UI on another origin (real Chromium, page served on a second port)', () => {
  let browser: Browser;
  let page: Server;
  const servers: TestServer[] = [];
  const roots: string[] = [];
  const shipped = path.join(repoRoot, 'models');
  const shippedModels: ModelsFixture = { root: shipped, modelsDir: shipped, scalersDir: path.join(shipped, 'scalers'), cleanup: async () => undefined };

  /** The real service on a free loopback port, its start-up log lines collected. */
  async function service(env: Record<string, string>): Promise<{ port: number; logLines: string[]; server: TestServer }> {
    const logLines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    const root = await mkdtemp(path.join(tmpdir(), 'cors-'));
    roots.push(root);
    const server = await startApp(shippedModels, root, { RATE_LIMIT_MAX: '100000', ...env }, { logger: pino({ level: 'info' }, sink) });
    servers.push(server);
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    return { port: portOf(server.app.server), logLines, server };
  }

  async function runOriginalUi(apiPort: number): Promise<Results> {
    const tab = await browser.newPage();
    try {
      await tab.goto(`http://127.0.0.1:${portOf(page)}/?api=${apiPort}`);
      return (await tab.evaluate('window.results')) as Results;
    } finally {
      await tab.close();
    }
  }

  before(async () => {
    browser = await launchChromium();
    page = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(ORIGINAL_UI));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await browser.close();
    await new Promise((resolve) => page.close(resolve));
    for (const server of servers) await server.app.close();
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  it('with CORS_ORIGINS=* (the original compose value) reads every public route, never with credentials, never a protected one', async () => {
    const { port, logLines, server } = await service({ CORS_ORIGINS: '*' });
    assert.ok(logLines.some((line) => line.includes('CORS for any origin (CORS_ORIGINS=*)')), 'the choice is logged at start-up');
    const results = await runOriginalUi(port);

    assert.equal(results.predict.status, 200, JSON.stringify(results.predict));
    assert.equal(results.predict.body?.['symbol'], 'NVDA');
    assert.match(results.predict.requestId ?? '', /^[0-9a-f-]{36}$/, 'X-Request-Id is exposed to the page');
    assert.ok(results.health.status === 200 || results.health.status === 503, JSON.stringify(results.health));
    assert.equal(typeof results.health.body?.['status'], 'string');
    assert.equal(results.historical.status, 200);
    assert.equal((results.historical.body?.['data'] as unknown[]).length, 30);
    assert.equal(results.preflighted.status, 200, `a preflighted GET passes: ${JSON.stringify(results.preflighted)}`);
    assert.equal(results.preflighted.requestId, 'ui-req-1');

    assert.match(results.withCredentials.failed ?? '', /Failed to fetch/, 'credentials are never allowed with *');
    assert.match(results.protected.failed ?? '', /Failed to fetch/, 'a key-protected route is not shared with *');
    const stats = (await server.app.inject({ method: 'GET', url: '/api/v1/stats' })).json<{ cache: { size: number } }>();
    assert.ok(stats.cache.size > 0, 'the refused cross-origin POST cleared nothing');

    const preflight = await fetch(`http://127.0.0.1:${port}/api/v1/cache/clear`, {
      method: 'OPTIONS',
      headers: { origin: 'http://elsewhere.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
    });
    assert.equal(preflight.status, 204);
    assert.doesNotMatch(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.doesNotMatch(preflight.headers.get('access-control-allow-headers') ?? '', /x-api-key|authorization/i);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
  });

  it('without CORS_ORIGINS shares nothing, but answers a preflight (204, no CORS headers) instead of a 404', async () => {
    const { port, logLines } = await service({ CORS_ORIGINS: '' });
    assert.ok(logLines.some((line) => line.includes('CORS off')), 'the choice is logged at start-up');
    const results = await runOriginalUi(port);
    assert.match(results.predict.failed ?? '', /Failed to fetch/);
    const preflight = await fetch(`http://127.0.0.1:${port}/api/v1/predict/NVDA`, {
      method: 'OPTIONS',
      headers: { origin: 'http://elsewhere.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  });
});
