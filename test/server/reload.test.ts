import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CsvMarketData } from '../../src/market/csv.js';
import { trainModel } from '../../src/ml/training/train.js';
import { ModelStore } from '../../src/model-store/store.js';
import { sampleDir } from '../helpers/paths.js';
import { API_KEY, makeDataDir, startApp, TINY_TRAINING, trainTinyModels, type ModelsFixture, type TestServer } from './fixtures.js';

interface Json {
  [key: string]: unknown;
}

describe('model registry: hot reload, disposal and failed models', () => {
  let models: ModelsFixture;
  let server: TestServer;
  let store: ModelStore;
  let versions: string[];

  /** Trains and saves one more real NVDA version into the served store; returns its name. */
  const saveNewVersion = async (key: string, symbol: string): Promise<string> => {
    const bars = (await new CsvMarketData({ directory: sampleDir }).getBars(symbol)).slice(-TINY_TRAINING.maxBars);
    const trained = await trainModel({ key, series: [{ symbol, bars }], config: { ...TINY_TRAINING, seed: Date.now() % 1000 }, backend: tf.getBackend(), dataSource: 'csv' });
    try {
      return await store.save(trained);
    } finally {
      trained.model.dispose();
    }
  };
  const reload = async (): Promise<Json> => {
    const res = await server.app.inject({ method: 'POST', url: '/api/v1/models/reload', headers: { 'x-api-key': API_KEY } });
    assert.equal(res.statusCode, 200, res.body);
    return JSON.parse(res.body) as Json;
  };

  before(async () => {
    models = await trainTinyModels(['nvda', 'global']);
    server = await startApp(models, await makeDataDir(), { MODEL_KEEP_VERSIONS: '10' });
    const { layout } = server.config;
    store = new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers, keepVersions: 10 });
    const first = (await store.currentVersion('nvda')) as string;
    versions = [first, await saveNewVersion('nvda', 'NVDA')];
    await store.promote('nvda', first);
  });
  after(async () => {
    await server.app.close();
    await models.cleanup();
  });

  it('keeps tf.memory().numTensors stable across 1,000 predictions and 10 reloads', async () => {
    const { services } = server.app;
    const predictRound = async (): Promise<void> => {
      for (let days = 1; days <= 10; days += 1) await services.predictions.predict('NVDA', days);
      await services.cache.clear();
    };
    // One round and one reload cycle first, so kernels and lazily created tensors exist before the baseline.
    await predictRound();
    await store.promote('nvda', versions[1] as string);
    await reload();
    await store.promote('nvda', versions[0] as string);
    await reload();
    const baseline = tf.memory().numTensors;
    for (let round = 0; round < 100; round += 1) {
      await predictRound();
      if (round % 10 === 9) {
        await store.promote('nvda', versions[Math.floor(round / 10) % 2 === 0 ? 1 : 0] as string);
        const report = await reload();
        assert.deepEqual(report['loaded'], [{ key: 'nvda', version: (await store.currentVersion('nvda')) as string }]);
      }
    }
    assert.equal(tf.memory().numTensors, baseline, 'no tensor leaks');
  });

  it('swaps versions under concurrent load with zero failed requests', async () => {
    const address = await server.app.listen({ port: 0, host: '127.0.0.1' });
    const statuses: number[] = [];
    const served = new Set<string>();
    let running = true;
    const worker = async (offset: number): Promise<void> => {
      for (let i = 0; running; i += 1) {
        const days = ((i + offset) % 10) + 1;
        const res = await fetch(`${address}/api/v1/predict/NVDA?days=${days}`);
        statuses.push(res.status);
        const body = (await res.json()) as Json;
        if (res.status === 200) served.add(body['model_version'] as string);
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => worker(i));
    for (let i = 0; i < 6; i += 1) {
      await store.promote('nvda', versions[i % 2 === 0 ? 1 : 0] as string);
      const res = await fetch(`${address}/api/v1/models/reload`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` } });
      assert.equal(res.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    running = false;
    await Promise.all(workers);
    assert.ok(statuses.length > 50, `enough traffic (${statuses.length})`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'every request during the reloads succeeded',
    );
    assert.deepEqual([...served].sort(), [...versions].sort(), 'both versions answered');
  });

  it('picks up a version switched on disk by itself (MODEL_WATCH_INTERVAL)', async () => {
    const watched = await startApp(models, await makeDataDir(), { MODEL_WATCH_INTERVAL: '0.2s' });
    try {
      const { layout } = watched.config;
      const watchedStore = new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers });
      const served = async () => (JSON.parse((await watched.app.inject({ method: 'GET', url: '/api/v1/models/NVDA' })).body) as Json)['version'];
      const original = await served();
      const bars = (await new CsvMarketData({ directory: sampleDir }).getBars('NVDA')).slice(-TINY_TRAINING.maxBars);
      const trained = await trainModel({ key: 'nvda', series: [{ symbol: 'NVDA', bars }], config: TINY_TRAINING, backend: tf.getBackend(), dataSource: 'csv' });
      const next = await watchedStore.save(trained);
      trained.model.dispose();
      const deadline = Date.now() + 10_000;
      while ((await served()) !== next) {
        assert.ok(Date.now() < deadline, `version ${next} served within 10 s (still ${String(original)})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await watched.app.close();
    }
  });

  it('reports a version that fails to load, keeps serving the working one, and never takes down the others', async () => {
    const before = JSON.parse((await server.app.inject({ method: 'GET', url: '/api/v1/predict/NVDA?days=2' })).body) as Json;
    // A new NVDA version whose weights were damaged after saving, and a new model with only a damaged version.
    const broken = await saveNewVersion('nvda', 'NVDA');
    const weights = path.join(store.versionDir('nvda', broken), 'weights.bin');
    const bytes = await readFile(weights);
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    await writeFile(weights, bytes);
    const msft = await saveNewVersion('msft', 'MSFT');
    await writeFile(path.join(store.versionDir('msft', msft), 'weights.bin'), 'not weights');

    const report = await reload();
    assert.deepEqual((report['failed'] as Json[]).map((f) => f['key']).sort(), ['msft', 'nvda']);
    const listBody = (await server.app.inject({ method: 'GET', url: '/api/v1/models' })).body;
    // An unauthenticated route says what failed without showing where the server keeps its files.
    assert.doesNotMatch(listBody, new RegExp(server.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no absolute server path');
    assert.doesNotMatch(listBody, /"[^"]*\/(tmp|work|home|root|usr|opt|var)\/[^"]*"/, 'no absolute server path');
    const list = (JSON.parse(listBody) as { models: Json[] }).models;
    const byKey = new Map(list.map((m) => [m['key'] as string, m]));
    assert.equal(byKey.get('nvda')?.['status'], 'ready');
    assert.equal(byKey.get('nvda')?.['version'], before['model_version'], 'the working version keeps serving');
    assert.match(byKey.get('nvda')?.['error'] as string, new RegExp(broken));
    assert.equal(byKey.get('msft')?.['status'], 'failed');
    assert.match(byKey.get('msft')?.['error'] as string, /weights|checksum|sha256/i);
    assert.equal(byKey.get('global')?.['status'], 'ready');

    const after = await server.app.inject({ method: 'GET', url: '/api/v1/predict/NVDA?days=2' });
    assert.equal(after.statusCode, 200);
    assert.equal((JSON.parse(after.body) as Json)['model_version'], before['model_version']);
    const msftPrediction = JSON.parse((await server.app.inject({ method: 'GET', url: '/api/v1/predict/MSFT' })).body) as Json;
    assert.equal((msftPrediction['model'] as Json)['key'], 'global', 'a failed model falls back to the global one');
    const health = JSON.parse((await server.app.inject({ method: 'GET', url: '/api/v1/health' })).body) as Json;
    assert.equal(health['status'], 'degraded');
    assert.match(((health['services'] as Record<string, Json>)['models']?.['message'] as string), /msft/);
    const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^models_loaded\{status="failed"\} 1$/m);
  });
});
