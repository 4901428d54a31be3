import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { send, startFixtureServer } from '../helpers/http-fixture-server.js';
import { yahooFixturesDir } from '../helpers/paths.js';
import { startServiceProcess, waitFor, waitReady } from '../helpers/service-process.js';
import { startServiceOn, withTinyModels } from './fixtures.js';

interface Json {
  [key: string]: unknown;
}

/**
 * The service heals itself: started while its data source (a local HTTP server playing Yahoo) is down and with no
 * stored bars at all, it must become ready without waiting on the source, and serve fresh bars once it returns.
 */
describe('self-healing: the data source is down at start-up (real process, HTTP upstream)', () => {
  const models = withTinyModels(['nvda', 'global']);

  it('becomes ready within seconds without calling the source, and serves its bars as soon as it returns', async (t) => {
    const nvdaChart = await readFile(path.join(yahooFixturesDir, 'chart_NVDA_1d_2021-02-01_2022-01-28.json'), 'utf8');
    let up = false;
    const upstream = await startFixtureServer((request, response) => {
      if (!up) return send(response, 503, '{"chart":{"result":null,"error":{"code":"Service Unavailable","description":"down"}}}');
      return request.url.startsWith('/v8/finance/chart/NVDA') ? send(response, 200, nvdaChart) : send(response, 404, '{"chart":{"result":null,"error":{"code":"Not Found"}}}');
    });
    t.after(() => upstream.close());
    const { service, base, layout } = await startServiceOn(t, models(), {
      DATA_SOURCE: 'yahoo',
      API_BASE_URL: upstream.baseUrl,
      // No sample prices: the models can only warm up on a synthetic window.
      SEED_ON_START: 'false',
      LOG_LEVEL: 'warn',
    });
    // Measured from the spawn (waitReady starts right after it).
    const readyAfter = await waitReady(base, service, 90_000);
    t.diagnostic(`time to ready after start with the source down: ${readyAfter} ms`);
    assert.deepEqual(await readdir(layout.historical), [], 'no stored bars to warm up on');
    assert.equal(upstream.requests.length, 0, 'warm-up never called the data source');
    const health = (await (await fetch(`${base}/health`)).json()) as { services: Record<string, Json> };
    assert.equal(health.services['models']?.['status'], 'healthy', JSON.stringify(health.services['models']));
    const list = (await (await fetch(`${base}/api/v1/models`)).json()) as { models: Json[] };
    assert.deepEqual(list.models.map((m) => [m['key'], m['status']]), [['global', 'ready'], ['nvda', 'ready']]);

    up = true;
    const returned = Date.now();
    const prediction = await waitFor('a prediction on the returned source', async () => {
      const res = await fetch(`${base}/api/v1/predict/NVDA?days=3`);
      return res.status === 200 ? ((await res.json()) as Json) : undefined;
    }, 60_000, 200);
    t.diagnostic(`first prediction ${Date.now() - returned} ms after the source returned`);
    assert.equal(prediction['as_of'], '2022-01-28', 'answered from the bars the source returned');
    assert.equal((prediction['model'] as Json)['key'], 'nvda');
    service.kill('SIGTERM');
    assert.equal((await service.done).code, 0);
  });
});
