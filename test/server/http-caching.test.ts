import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { matchesIfNoneMatch } from '../../src/server/http-caching.js';
import { startNginx, type NginxHandle } from '../helpers/nginx-server.js';
import { makeDataDir, startApp, trainTinyModels, type ModelsFixture, type TestServer } from './fixtures.js';

const TTL = 120;

describe('If-None-Match (weak comparison)', () => {
  it('matches W/ and strong forms, lists and *, nothing else', () => {
    assert.ok(matchesIfNoneMatch('W/"a"', 'W/"a"'));
    assert.ok(matchesIfNoneMatch('"a"', 'W/"a"'));
    assert.ok(matchesIfNoneMatch('"x", W/"a" ', 'W/"a"'));
    assert.ok(matchesIfNoneMatch('*', 'W/"a"'));
    assert.ok(!matchesIfNoneMatch('W/"b"', 'W/"a"'));
    assert.ok(!matchesIfNoneMatch(undefined, 'W/"a"'));
  });
});

describe('ETag, Cache-Control and 304 on predictions and history, directly and through the shipped nginx config', () => {
  let models: ModelsFixture;
  let server: TestServer;
  let service: string;
  let nginx: NginxHandle;

  before(async () => {
    models = await trainTinyModels(['nvda']);
    server = await startApp(models, await makeDataDir(), { ML_PREDICTION_TTL: String(TTL) });
    service = await server.app.listen({ port: 0, host: '127.0.0.1' });
    nginx = await startNginx(Number(new URL(service).port));
  });
  after(async () => {
    await nginx?.stop();
    await server?.app.close();
    await models?.cleanup();
  });

  it('a prediction carries its cache key as a weak ETag and max-age = the prediction TTL; If-None-Match gets a 304 with no body', async () => {
    const first = await fetch(`${service}/api/v1/predict/NVDA?days=5`);
    const body = (await first.json()) as { model_version: string; as_of: string };
    assert.equal(first.status, 200);
    const etag = first.headers.get('etag') ?? '';
    assert.equal(etag, `W/"prediction:NVDA:${encodeURIComponent(`nvda/${body.model_version}`)}:${body.as_of}:5"`);
    assert.equal(first.headers.get('cache-control'), `public, max-age=${TTL}`);

    const again = await fetch(`${service}/api/v1/predict/NVDA?days=5`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    assert.equal(again.headers.get('etag'), etag);

    const other = await fetch(`${service}/api/v1/predict/NVDA?days=4`, { headers: { 'if-none-match': etag } });
    assert.equal(other.status, 200, 'another horizon is another answer');
    assert.notEqual(other.headers.get('etag'), etag);
    await other.arrayBuffer();
  });

  it('history: ETag of the bars returned, max-age, 304; errors are never marked cacheable', async () => {
    const first = await fetch(`${service}/api/v1/historical/NVDA?days=10`);
    assert.equal(first.status, 200);
    await first.arrayBuffer();
    const etag = first.headers.get('etag') ?? '';
    assert.match(etag, /^W\/"history:[A-Za-z0-9_-]+"$/);
    assert.equal(first.headers.get('cache-control'), `public, max-age=${TTL}`);
    assert.equal((await fetch(`${service}/api/v1/historical/NVDA?days=10`, { headers: { 'if-none-match': etag } })).status, 304);
    const longer = await fetch(`${service}/api/v1/historical/NVDA?days=11`, { headers: { 'if-none-match': etag } });
    assert.equal(longer.status, 200);
    await longer.arrayBuffer();

    const missing = await fetch(`${service}/api/v1/predict/ZZZZ`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    assert.equal(missing.headers.get('etag'), null);
    assert.equal(missing.headers.get('cache-control'), null);
  });

  it('nginx caches predictions and history (second request a HIT with the same body and ETag) and answers If-None-Match with 304', async () => {
    for (const url of ['/api/v1/predict/NVDA?days=3', '/api/v1/historical/NVDA?days=7']) {
      const miss = await fetch(`${nginx.url}${url}`);
      const missBody = await miss.text();
      assert.equal(miss.status, 200, missBody);
      assert.equal(miss.headers.get('x-cache-status'), 'MISS');
      const hit = await fetch(`${nginx.url}${url}`);
      assert.equal(await hit.text(), missBody);
      assert.equal(hit.headers.get('x-cache-status'), 'HIT', url);
      assert.equal(hit.headers.get('etag'), miss.headers.get('etag'));
      assert.equal(hit.headers.get('cache-control'), `public, max-age=${TTL}`);
      const conditional = await fetch(`${nginx.url}${url}`, { headers: { 'if-none-match': miss.headers.get('etag') ?? '' } });
      assert.equal(conditional.status, 304, url);
      assert.equal(await conditional.text(), '');
    }
  });

  it('nginx does not cache what the service does not mark cacheable: errors, stats, batch POSTs', async () => {
    for (const url of ['/api/v1/predict/ZZZZ', '/api/v1/stats']) {
      await (await fetch(`${nginx.url}${url}`)).arrayBuffer();
      const second = await fetch(`${nginx.url}${url}`);
      await second.arrayBuffer();
      assert.notEqual(second.headers.get('x-cache-status'), 'HIT', url);
    }
    const batch = () => fetch(`${nginx.url}/api/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ symbols: ['NVDA'], days: 2 }) });
    await (await batch()).arrayBuffer();
    const second = await batch();
    assert.equal(second.status, 200);
    await second.arrayBuffer();
    assert.notEqual(second.headers.get('x-cache-status'), 'HIT');
  });
});
