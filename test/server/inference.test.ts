import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeDataDir, startApp, trainTinyModels, type ModelsFixture, type TestServer } from './fixtures.js';

interface Json {
  [key: string]: unknown;
}

describe('INFERENCE: the fused pass and tfjs serve the same forecasts', () => {
  let models: ModelsFixture;
  let fused: TestServer;
  let tfjs: TestServer;

  before(async () => {
    models = await trainTinyModels(['nvda']);
    fused = await startApp(models, await makeDataDir());
    tfjs = await startApp(models, await makeDataDir(), { INFERENCE: 'tfjs' });
  });
  after(async () => {
    await fused.app.close();
    await tfjs.app.close();
    await models.cleanup();
  });

  const get = async (server: TestServer, url: string): Promise<Json> => {
    const res = await server.app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, res.body);
    return JSON.parse(res.body) as Json;
  };

  it('the model card and /api/v1/stats say which path runs', async () => {
    assert.deepEqual((await get(fused, '/api/v1/models/NVDA'))['inference'], { path: 'fused' });
    assert.deepEqual((await get(tfjs, '/api/v1/models/NVDA'))['inference'], { path: 'tfjs', reason: 'INFERENCE=tfjs' });
    assert.deepEqual(((await get(tfjs, '/api/v1/stats'))['models'] as Json)['inference'], { fused: 0, tfjs: 1 });
  });

  it('every forecast point agrees to 1e-5 (relative) for every horizon', async () => {
    const a = (await get(fused, '/api/v1/predict/NVDA?days=10'))['forecast'] as Json[];
    const b = (await get(tfjs, '/api/v1/predict/NVDA?days=10'))['forecast'] as Json[];
    assert.equal(a.length, 10);
    a.forEach((point, h) => {
      for (const field of ['price', 'lower_80', 'upper_80', 'lower_95', 'upper_95']) {
        const [x, y] = [point[field] as number, b[h]?.[field] as number];
        assert.ok(Math.abs(x - y) <= 1e-5 * Math.abs(y), `day ${h + 1} ${field}: ${x} vs ${y}`);
      }
    });
  });
});
