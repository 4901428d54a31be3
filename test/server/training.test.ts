import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BAND_RULE } from '../../src/ml/calibrate.js';
import { sampleDir } from '../helpers/paths.js';
import { API_KEY, makeDataDir, startApp, trainTinyModels, type ModelsFixture, type TestServer } from './fixtures.js';

interface Json {
  [key: string]: unknown;
}

describe('training jobs through the API (worker thread)', () => {
  let models: ModelsFixture;
  let server: TestServer;

  before(async () => {
    models = await trainTinyModels(['nvda', 'global']);
    server = await startApp(models, await makeDataDir());
  });
  after(async () => {
    await server.app.close();
    await models.cleanup();
  });

  const train = (symbol: string, body?: unknown, key: string | null = API_KEY) =>
    server.app.inject({
      method: 'POST',
      url: `/api/v1/models/${symbol}/train`,
      headers: key ? { 'x-api-key': key } : {},
      ...(body !== undefined ? { payload: body as Json } : {}),
    });
  const getJson = async (url: string): Promise<Json> => JSON.parse((await server.app.inject({ method: 'GET', url })).body) as Json;
  /** Polls a job until it succeeds or fails (bounded: two minutes). */
  const finishedJob = async (jobId: string): Promise<Json> => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const job = await getJson(`/api/v1/jobs/${jobId}`);
      if (job['status'] === 'succeeded' || job['status'] === 'failed') return job;
      assert.ok(Date.now() < deadline, `job ${jobId} finished within two minutes (${JSON.stringify(job)})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('refuses bad requests before starting anything', async () => {
    assert.equal((await train('NVDA', undefined, null)).statusCode, 401);
    assert.equal((await train('NVDA', { epochs: 0 })).statusCode, 400);
    assert.equal((await train('NVDA', { epochs: 2, learning: 'fast' })).statusCode, 400);
    assert.equal((await train('bad$')).statusCode, 400);
    assert.equal((await train('ZZZZ')).statusCode, 404);
    const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^training_jobs\{status="running"\} 0$/m);
    assert.match(metrics, /^training_jobs\{status="queued"\} 0$/m);
  });

  it('runs a job off the request path: 202, 409 for a second one, progress, then a new served version', async () => {
    const before = await getJson('/api/v1/models/NVDA');
    const started = await train('nvda', { epochs: 4, max_bars: 600 });
    assert.equal(started.statusCode, 202, started.body);
    const accepted = JSON.parse(started.body) as Json;
    const jobId = accepted['job_id'] as string;
    assert.match(jobId, /^[0-9a-f-]{36}$/);
    assert.equal(started.headers['location'], `/api/v1/jobs/${jobId}`);

    const second = await train('NVDA');
    assert.equal(second.statusCode, 409);
    assert.equal((JSON.parse(second.body) as Json)['status'], 409);
    assert.equal((JSON.parse(second.body) as Json)['code'], 'TRAINING_CONFLICT');

    const seen = new Set<string>();
    let job: Json = {};
    let predictionsDuringTraining = 0;
    const deadline = Date.now() + 120_000;
    for (;;) {
      job = await getJson(`/api/v1/jobs/${jobId}`);
      seen.add(job['status'] as string);
      if (job['status'] === 'succeeded' || job['status'] === 'failed') break;
      assert.ok(Date.now() < deadline, 'training finished within two minutes');
      // Predictions keep being answered while the worker trains.
      const res = await server.app.inject({ method: 'GET', url: `/api/v1/predict/NVDA?days=${(predictionsDuringTraining % 10) + 1}` });
      assert.equal(res.statusCode, 200);
      predictionsDuringTraining += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(job['status'], 'succeeded', JSON.stringify(job));
    assert.ok(seen.has('running'), `the job was seen running (${[...seen].join(', ')})`);
    assert.ok(predictionsDuringTraining > 0);
    const progress = job['progress'] as Json;
    assert.equal(progress['epochs'], 4);
    assert.ok((progress['epoch'] as number) >= 1);
    assert.equal(typeof progress['loss'], 'number');
    const result = job['result'] as Json;
    assert.notEqual(result['version'], before['version']);
    assert.equal(typeof result['beats_naive'], 'boolean');

    const afterDetail = await getJson('/api/v1/models/NVDA');
    assert.equal(afterDetail['version'], result['version'], 'the new version is served');
    assert.equal((afterDetail['training_config'] as Json)['epochs'], 4);
    // the model card names the default band rule the new version's challengers were tested against
    const bandSelection = (afterDetail['calibration'] as Json)['band_selection'] as Json;
    assert.deepEqual((bandSelection['default_test'] as Json)['rule'], DEFAULT_BAND_RULE);
    const versions = afterDetail['versions'] as Json[];
    assert.equal(versions.length, 2);
    assert.equal(versions.find((v) => v['current'] === true)?.['version'], result['version']);
    const prediction = await getJson('/api/v1/predict/NVDA?days=2');
    assert.equal(prediction['model_version'], result['version']);
    const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^training_jobs\{status="succeeded"\} 1$/m);
    assert.match(metrics, new RegExp(`^model_info\\{model="nvda",version="${result['version'] as string}"`, 'm'));

    // Once finished, the symbol can be trained again, and that job too succeeds and serves its version.
    const again = await train('NVDA', { epochs: 1, max_bars: 300 });
    assert.equal(again.statusCode, 202, again.body);
    const againJob = await finishedJob((JSON.parse(again.body) as Json)['job_id'] as string);
    assert.equal(againJob['status'], 'succeeded', JSON.stringify(againJob));
    const againVersion = (againJob['result'] as Json)['version'];
    assert.notEqual(againVersion, result['version']);
    assert.equal((await getJson('/api/v1/predict/NVDA?days=1'))['model_version'], againVersion);
    assert.match((await server.app.inject({ method: 'GET', url: '/metrics' })).body, /^training_jobs\{status="succeeded"\} 2$/m);
  });

  it('keeps the ticker GLOBAL apart from the global model: answered by it as a new symbol, trained as its own model beside it', async () => {
    // A real price history under the ticker GLOBAL (AAPL's closes), which the symbol pattern allows.
    await copyFile(path.join(sampleDir, 'AAPL.csv'), path.join(server.config.layout.historical, 'GLOBAL.csv'));
    const globalBefore = await getJson('/api/v1/models');
    const listed = (globalBefore['models'] as Json[]).find((m) => m['key'] === 'global');
    assert.deepEqual([listed?.['symbol'], listed?.['scope']], [null, 'global'], 'the global model is listed as nobody\'s own');

    const asNew = await getJson('/api/v1/predict/GLOBAL');
    assert.deepEqual([(asNew['model'] as Json)['key'], (asNew['model'] as Json)['fallback']], ['global', true], 'GLOBAL is a new symbol, not the global model');
    assert.equal((await getJson('/api/v1/models/GLOBAL'))['fallback'], true);

    const started = await train('GLOBAL', { epochs: 1, max_bars: 300 });
    assert.equal(started.statusCode, 202, started.body);
    const job = await finishedJob((JSON.parse(started.body) as Json)['job_id'] as string);
    assert.equal(job['status'], 'succeeded', JSON.stringify(job));
    const models = (await getJson('/api/v1/models'))['models'] as Json[];
    const global = models.find((m) => m['key'] === 'global');
    assert.equal(global?.['version'], listed?.['version'], 'training the ticker GLOBAL did not replace the global model');
    const own = models.find((m) => m['symbol'] === 'GLOBAL');
    assert.deepEqual([own?.['key'], own?.['scope'], own?.['version']], ['_global', 'symbol', (job['result'] as Json)['version']]);
    const served = await getJson('/api/v1/predict/GLOBAL');
    assert.deepEqual([(served['model'] as Json)['key'], (served['model'] as Json)['fallback']], ['_global', false]);
    assert.equal(((await getJson('/api/v1/predict/MSFT'))['model'] as Json)['key'], 'global', 'other symbols still get the global model');
  });
});
