import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GLOBAL_MODEL_KEY, type ModelMetadata } from '../../src/ml/types.js';
import { METADATA_JSON, ModelStore, TEST_FORECASTS_JSON } from '../../src/model-store/store.js';
import { makeDataDir, startApp, trainTinyModels, type ModelsFixture, type TestServer } from './fixtures.js';

interface Point {
  date: string;
  actual: number;
  predicted: number;
  lower_80: number;
  upper_80: number;
  lower_95: number;
  upper_95: number;
  naive: number;
}
interface TestForecasts {
  symbol: string;
  model: string;
  key: string;
  version: string;
  fallback: boolean;
  test_from: string | null;
  test_to: string | null;
  count: number;
  points: Point[];
}
type Json = Record<string, unknown>;

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('GET /api/v1/models/:symbol/test-forecasts on real models and real prices', () => {
  let models: ModelsFixture;
  let server: TestServer;
  let nvdaMeta: ModelMetadata;

  before(async () => {
    // NVDA has its own model; AAPL is answered by the global model (trained on NVDA and AAPL).
    models = await trainTinyModels(['nvda', GLOBAL_MODEL_KEY]);
    nvdaMeta = await new ModelStore({ modelsDir: models.modelsDir, scalersDir: models.scalersDir }).readMetadata('nvda');
    server = await startApp(models, await makeDataDir());
  });
  after(async () => {
    await server.app.close();
    await models.cleanup();
  });

  const get = async <T>(url: string): Promise<{ status: number; body: T }> => {
    const response = await server.app.inject({ method: 'GET', url });
    return { status: response.statusCode, body: JSON.parse(response.body) as T };
  };

  it("returns the served version's held-out next-day forecasts, which reproduce its evaluation and the real closes", async () => {
    const { status, body } = await get<TestForecasts>('/api/v1/models/nvda/test-forecasts?days=5000');
    assert.equal(status, 200);
    const e = nvdaMeta.evaluation;
    assert.equal(body.symbol, 'NVDA');
    assert.equal(body.key, 'nvda');
    assert.equal(body.model, 'nvda_lstm_model');
    assert.equal(body.version, nvdaMeta.version);
    assert.equal(body.fallback, false);
    assert.equal(body.count, e.test_days);
    assert.equal(body.points.length, body.count);
    assert.equal(body.test_from, e.test_from);
    assert.equal(body.test_to, e.test_to);
    assert.deepEqual(body.points.map((p) => p.date), [...body.points.map((p) => p.date)].sort(), 'oldest first');
    // Rounded to 4 decimals, so the MAEs agree to about 1e-4.
    assert.ok(Math.abs(mean(body.points.map((p) => Math.abs(p.actual - p.predicted))) - e.mae) < 1e-3);
    assert.ok(Math.abs(mean(body.points.map((p) => Math.abs(p.actual - p.naive))) - e.naive_mae) < 1e-3);
    const history = await get<{ data: { timestamp: string; adj_close: number }[] }>('/api/v1/historical/NVDA?days=5000');
    const closes = new Map(history.body.data.map((b) => [b.timestamp.slice(0, 10), b.adj_close]));
    const dates = history.body.data.map((b) => b.timestamp.slice(0, 10));
    for (const p of body.points) {
      assert.ok(Math.abs(p.actual - (closes.get(p.date) as number)) < 1e-3, `${p.date}: actual ${p.actual} is the real close`);
      const previous = dates[dates.indexOf(p.date) - 1] as string;
      assert.ok(Math.abs(p.naive - (closes.get(previous) as number)) < 1e-3, `${p.date}: naive is the previous close`);
      assert.ok(p.lower_95 <= p.lower_80 && p.lower_80 <= p.predicted && p.predicted <= p.upper_80 && p.upper_80 <= p.upper_95);
    }
  });

  it('defaults to the last 250 test days and honours ?days', async () => {
    const all = (await get<TestForecasts>('/api/v1/models/NVDA/test-forecasts?days=5000')).body;
    const byDefault = (await get<TestForecasts>('/api/v1/models/NVDA/test-forecasts')).body;
    assert.deepEqual(byDefault.points, all.points.slice(-250));
    const five = (await get<TestForecasts>('/api/v1/models/NVDA/test-forecasts?days=5')).body;
    assert.equal(five.count, 5);
    assert.deepEqual(five.points, all.points.slice(-5));
    assert.equal(five.test_from, all.test_from, 'test_from/test_to describe the whole test split');
  });

  it("answers a symbol without its own model with the global model's forecasts for that symbol", async () => {
    const { status, body } = await get<TestForecasts>('/api/v1/models/AAPL/test-forecasts?days=5000');
    assert.equal(status, 200);
    assert.equal(body.key, 'global');
    assert.equal(body.fallback, true);
    assert.ok(body.count > 0);
    const history = await get<{ data: { timestamp: string; adj_close: number }[] }>('/api/v1/historical/AAPL?days=5000');
    const closes = new Map(history.body.data.map((b) => [b.timestamp.slice(0, 10), b.adj_close]));
    for (const p of body.points) assert.ok(Math.abs(p.actual - (closes.get(p.date) as number)) < 1e-3, `${p.date}: AAPL's own close`);
    // TSLA has data but the global model never saw it: no held-out points, and no invented ones.
    const tsla = await get<TestForecasts>('/api/v1/models/TSLA/test-forecasts');
    assert.equal(tsla.status, 200);
    assert.deepEqual([tsla.body.count, tsla.body.points, tsla.body.test_from, tsla.body.test_to], [0, [], null, null]);
  });

  it('rejects bad input with 400 and unknown symbols with 404', async () => {
    for (const url of ['/api/v1/models/NVDA/test-forecasts?days=0', '/api/v1/models/NVDA/test-forecasts?days=abc', '/api/v1/models/NV$DA/test-forecasts']) {
      const { status, body } = await get<Json>(url);
      assert.equal(status, 400, url);
      assert.equal(body['status'], 400);
    }
    assert.equal((await get<Json>('/api/v1/models/ZZZZ/test-forecasts')).status, 404);
  });

  it('reports the Diebold–Mariano p-value and the other baselines in every evaluation, and documents the route', async () => {
    const e = nvdaMeta.evaluation;
    const detail = (await get<{ evaluation: Json }>('/api/v1/models/NVDA')).body.evaluation;
    const prediction = (await get<{ model: { evaluation: Json } }>('/api/v1/predict/NVDA')).body.model.evaluation;
    const listed = (await get<{ models: { key: string; evaluation: Json }[] }>('/api/v1/models')).body.models.find((m) => m.key === 'nvda')?.evaluation;
    for (const evaluation of [detail, prediction, listed]) {
      assert.ok(evaluation);
      assert.equal(evaluation['naive_dm_p_value'], e.naive_dm_p_value);
      for (const field of ['naive_rmse', 'naive_mape', 'drift_mae', 'moving_average_mae', 'interval_coverage_95', 'change_correlation', 'test_days'] as const) {
        assert.equal(evaluation[field], e[field], field);
      }
    }
    const openapi = (await get<{ paths: Json }>('/docs/json')).body;
    assert.ok(Object.keys(openapi.paths).includes('/api/v1/models/{symbol}/test-forecasts'));
  });

  it('reports a corrupt test-forecasts file (CORRUPT_MODEL) and a version without metadata without showing the server path', async () => {
    const store = new ModelStore({ modelsDir: server.config.layout.mlModels, scalersDir: server.config.layout.scalers });
    await writeFile(path.join(store.versionDir('nvda', nvdaMeta.version), TEST_FORECASTS_JSON), '{"NVDA": []}');
    const response = await server.app.inject({ method: 'GET', url: '/api/v1/models/NVDA/test-forecasts' });
    assert.equal(response.statusCode, 500, response.body);
    const body = JSON.parse(response.body) as Json;
    assert.equal(body['code'], 'CORRUPT_MODEL');
    assert.ok(!response.body.includes(server.dataDir), response.body);
    assert.match(body['error'] as string, new RegExp(`^ml_models/nvda_lstm_model/${nvdaMeta.version}/${TEST_FORECASTS_JSON} `));

    // A version whose metadata file is gone: the version history says so without the absolute path.
    await rm(path.join(store.versionDir('nvda', nvdaMeta.version), METADATA_JSON));
    const detail = await server.app.inject({ method: 'GET', url: '/api/v1/models/NVDA' });
    assert.equal(detail.statusCode, 200, detail.body);
    const version = (JSON.parse(detail.body) as { versions: { version: string; error?: string }[] }).versions.find((v) => v.version === nvdaMeta.version);
    assert.match(version?.error ?? '', new RegExp(`ml_models/nvda_lstm_model/${nvdaMeta.version}/${METADATA_JSON}`));
    assert.ok(!detail.body.includes(server.dataDir), detail.body);
  });
});
