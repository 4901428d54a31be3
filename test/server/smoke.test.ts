import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeDataDir, startApp, trainTinyModels, type ModelsFixture, type TestServer } from './fixtures.js';

describe('smoke', () => {
  let models: ModelsFixture;
  let server: TestServer;
  before(async () => {
    const t0 = Date.now();
    models = await trainTinyModels();
    console.log('trained in', Date.now() - t0);
    server = await startApp(models, await makeDataDir());
  });
  after(async () => {
    await server.app.close();
    await models.cleanup();
  });
  it('predicts', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/api/v1/predict/NVDA?days=5' });
    console.log(res.statusCode, res.body);
    const res2 = await server.app.inject({ method: 'GET', url: '/api/v1/predict/TSLA?days=5' });
    console.log(res2.statusCode, res2.body.slice(0, 300));
    const res3 = await server.app.inject({ method: 'GET', url: '/api/v1/health' });
    console.log(res3.statusCode, res3.body);
    assert.equal(res.statusCode, 200);
  });
});
