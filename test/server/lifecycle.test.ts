import assert from 'node:assert/strict';
import { lstat, readFile, readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/env.js';
import { createAppLogger } from '../../src/observability/logger.js';
import { ModelStore } from '../../src/model-store/store.js';
import { freePort } from '../helpers/free-port.js';
import { sampleDir } from '../helpers/paths.js';
import { startServiceProcess, waitReady } from '../helpers/service-process.js';
import { buildApp } from '../../src/server/app.js';
import { API_KEY, makeDataDir, startApp, testConfig, trainTinyModels, type ModelsFixture } from './fixtures.js';

interface Json {
  [key: string]: unknown;
}

async function readLog(dataDir: string): Promise<string[]> {
  const text = await readFile(path.join(dataDir, 'logs', 'application', 'stock-prediction.log'), 'utf8');
  return text.split('\n').filter((line) => line.length > 0);
}

describe('configuration, restart, logs and shutdown', () => {
  let models: ModelsFixture;
  before(async () => {
    models = await trainTinyModels(['nvda', 'global']);
  });
  after(async () => {
    await models.cleanup();
  });

  it('stops start-up with one line naming a bad variable', async () => {
    for (const [variable, value] of [
      ['PORT', 'eighty'],
      ['REDIS_URL', 'http://localhost:6379'],
      ['ML_PREDICTION_TTL', 'soon'],
      ['DATA_SOURCE', 'bloomberg'],
      ['TFJS_BACKEND', 'gpu'],
      ['STOCK_BUY_THRESHOLD', '0.5'],
      ['TRAIN_EPOCHS', '-3'],
    ] as const) {
      const { code, stdout, stderr } = await startServiceProcess({ [variable]: value, PERSISTENT_DATA_PATH: '/nonexistent/never-created' }).done;
      assert.equal(code, 1, variable);
      assert.equal(stdout, '', `${variable}: nothing on stdout`);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${variable}: one line, got ${stderr}`);
      assert.match(lines[0] ?? '', new RegExp(`^Invalid environment variable ${variable}: `));
    }
  });

  it('has working defaults for every variable of the contract', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8081);
    assert.equal(config.dataSource, 'csv');
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.layout.root, path.resolve('persistent_data'));
    assert.equal(config.layout.logFile, path.resolve('persistent_data/logs/application/stock-prediction.log'));
    assert.equal(config.predictionTtlSeconds, 300);
    assert.equal(config.stockDataTtlSeconds, 1800);
    assert.deepEqual(config.apiKeys, []);
    assert.deepEqual(config.corsOrigins, []);
    // The original compose value is accepted; * mixed with origins is not (it would mean two policies at once).
    assert.deepEqual(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins, ['*']);
    assert.throws(() => loadConfig({ CORS_ORIGINS: '*,http://localhost:4200' }), /CORS_ORIGINS/);
    const custom = loadConfig({ PERSISTENT_DATA_PATH: '/srv/pd', ML_MODEL_PATH: '/srv/models', LOG_FILE: 'api.log', ML_PREDICTION_TTL: '5m', API_KEYS: 'a1b2c3d4, e5f6g7h8' });
    assert.equal(custom.layout.mlModels, '/srv/models');
    assert.equal(custom.layout.scalers, '/srv/pd/scalers');
    // The original .env named one model's folder; its parent is the models root.
    assert.equal(loadConfig({ ML_MODEL_PATH: 'persistent_data/ml_models/nvda_lstm_model' }).layout.mlModels, path.resolve('persistent_data/ml_models'));
    assert.equal(custom.layout.logFile, '/srv/pd/logs/application/api.log');
    assert.equal(custom.predictionTtlSeconds, 300);
    assert.deepEqual(custom.apiKeys, ['a1b2c3d4', 'e5f6g7h8']);
  });

  it('is live at once and ready only after the models are loaded and warmed', async () => {
    const dataDir = await makeDataDir();
    const app = await buildApp({ config: testConfig(dataDir), logToStdout: false, shippedModelsDir: models.modelsDir, sampleDataDir: sampleDir });
    await app.ready();
    // Loading runs in the background after ready: the first probes see it still loading.
    const [live, ready] = await Promise.all([app.inject({ method: 'GET', url: '/health/live' }), app.inject({ method: 'GET', url: '/health/ready' })]);
    assert.equal(live.statusCode, 200);
    assert.equal(ready.statusCode, 503);
    assert.ok(Number(ready.headers['retry-after']) > 0);
    await app.started;
    assert.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200);
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps cached predictions (file tier) and logs across a restart, with request ids and no secrets in the log', async () => {
    const dataDir = await makeDataDir();
    const closedPort = await freePort();
    const env = { REDIS_URL: `redis://:supersecretpw@127.0.0.1:${closedPort}`, LOG_LEVEL: 'debug' };
    const first = await startApp(models, dataDir, env);
    const res = await first.app.inject({ method: 'GET', url: '/api/v1/predict/NVDA?days=3', headers: { 'x-request-id': 'first-run-request' } });
    assert.equal(res.statusCode, 200);
    const original = JSON.parse(res.body) as Json;
    await first.app.inject({ method: 'POST', url: '/api/v1/models/reload', headers: { authorization: `Bearer ${API_KEY}` } });
    await first.app.inject({ method: 'POST', url: '/api/v1/cache/clear', headers: { 'x-api-key': 'wrong-but-secret-key' } });
    await first.app.close();

    const logFile = path.join(dataDir, 'logs', 'application', 'stock-prediction.log');
    assert.ok((await lstat(logFile)).isSymbolicLink(), 'stock-prediction.log follows the active rotated file');
    const firstLines = await readLog(dataDir);
    const parsed = firstLines.map((line) => JSON.parse(line) as Json);
    const requestLines = parsed.filter((line) => line['req'] !== undefined || line['res'] !== undefined);
    assert.ok(requestLines.length >= 2);
    for (const line of requestLines) assert.equal(typeof line['request_id'], 'string', JSON.stringify(line));
    assert.ok(parsed.some((line) => line['request_id'] === 'first-run-request'));
    const whole = firstLines.join('\n');
    assert.ok(whole.includes('redis'), 'the Redis outage is logged');
    assert.ok(!whole.includes('supersecretpw'), 'the Redis password never reaches the log');
    assert.ok(!whole.includes(API_KEY), 'API keys never reach the log');
    assert.ok(parsed.some((line) => line['msg'] === 'service stopped'), 'the log is flushed at close');

    const second = await startApp(models, dataDir, env);
    const again = JSON.parse((await second.app.inject({ method: 'GET', url: '/api/v1/predict/NVDA?days=3' })).body) as Json;
    assert.equal(again['cached'], true, 'answered from the file tier after the restart');
    assert.equal(again['prediction_time'], original['prediction_time']);
    assert.equal(again['predicted_price'], original['predicted_price']);
    await second.app.close();
    const secondLines = await readLog(dataDir);
    assert.deepEqual(secondLines.slice(0, firstLines.length), firstLines, 'the first run’s log lines are kept');
    assert.ok(secondLines.length > firstLines.length);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('rotates the application log by size, keeping stock-prediction.log on the active file, secrets redacted', async () => {
    const dataDir = await makeDataDir();
    const file = path.join(dataDir, 'logs', 'application', 'stock-prediction.log');
    const { logger, close } = await createAppLogger({ level: 'info', file, maxSize: '2k', keepFiles: 50, stdout: false, secrets: ['key-abcdef123'] });
    for (let i = 0; i < 60; i += 1) {
      logger.info({ i, url: 'redis://:hunter2pass@10.0.0.1:6379/0', req: { headers: { authorization: 'Bearer key-abcdef123' } } }, `line ${i} key-abcdef123`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await close();
    const names = (await readdir(path.dirname(file))).filter((n) => /^stock-prediction\.\d{4}-\d{2}-\d{2}\.\d+\.log$/.test(n));
    assert.ok(names.length >= 2, `rotated into several files: ${names.join(', ')}`);
    // Rotated files in order (date, then number); stock-prediction.log is the newest of them, which may have just
    // been opened empty when the last line crossed the size limit, so the newest lines are in the newest non-empty one.
    const order = (n: string): string => n.replace(/\.(\d+)\.log$/, (_, k: string) => `.${k.padStart(6, '0')}.log`);
    const ordered = [...names].sort((a, b) => order(a).localeCompare(order(b)));
    assert.equal(await realpath(file), await realpath(path.join(path.dirname(file), ordered.at(-1) as string)), 'stock-prediction.log follows the newest file');
    const contents = await Promise.all(ordered.map((name) => readFile(path.join(path.dirname(file), name), 'utf8')));
    assert.match(contents.filter(Boolean).at(-1) ?? '', /"i":59/, 'the newest file holds the newest lines');
    let all = '';
    for (const name of names) all += await readFile(path.join(path.dirname(file), name), 'utf8');
    assert.equal(all.split('\n').filter(Boolean).length, 60, 'no line lost across rotations');
    assert.ok(!all.includes('hunter2pass') && !all.includes('key-abcdef123'), 'secrets never written');
    assert.match(all, /redis:\/\/:\[REDACTED\]@10\.0\.0\.1/);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('drops lines logged after close instead of throwing from the closed file (late errors during shutdown)', async () => {
    const dataDir = await makeDataDir();
    const file = path.join(dataDir, 'logs', 'application', 'stock-prediction.log');
    const { logger, close } = await createAppLogger({ level: 'info', file, stdout: false });
    logger.info('before close');
    await close();
    assert.doesNotThrow(() => logger.error('a redis error reported while shutting down'));
    const written = await readFile(file, 'utf8');
    assert.match(written, /before close/);
    assert.doesNotMatch(written, /while shutting down/);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves from `node dist/src/main.js` and shuts down gracefully on SIGTERM, finishing in-flight requests', async () => {
    const dataDir = await makeDataDir();
    const layout = loadConfig({ PERSISTENT_DATA_PATH: dataDir }).layout;
    await new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers }).seedFrom(models.modelsDir);
    const port = await freePort();
    // debug: requests are logged as they arrive ("incoming request"), which tells the test they are in flight.
    const proc = startServiceProcess({ PERSISTENT_DATA_PATH: dataDir, PORT: String(port), HOST: '127.0.0.1', MODEL_WATCH_INTERVAL: '0', LOG_LEVEL: 'debug' });
    const base = `http://127.0.0.1:${port}`;
    await waitReady(base, proc);
    const received = () =>
      proc
        .stdout()
        .split('\n')
        .filter((line) => line.includes('"msg":"incoming request"') && line.includes('"url":"/api/v1/predict/NVDA?days=')).length;
    const inFlight = Array.from({ length: 12 }, (_, i) => fetch(`${base}/api/v1/predict/NVDA?days=${(i % 10) + 1}`).then((r) => r.status));
    // SIGTERM once the service has logged every request as incoming, i.e. they are in flight.
    while (received() < 12) await new Promise((resolve) => setTimeout(resolve, 2));
    proc.kill('SIGTERM');
    const statuses = await Promise.all(inFlight);
    assert.deepEqual(statuses, statuses.map(() => 200), 'requests accepted before SIGTERM complete');
    const { code } = await proc.done;
    assert.equal(code, 0);
    const lines = (await readLog(dataDir)).map((line) => JSON.parse(line) as Json);
    assert.ok(lines.some((line) => line['msg'] === 'shutting down: finishing in-flight requests'));
    assert.equal(lines.at(-1)?.['msg'], 'service stopped');
    // The tree of the seed exists, and nothing in it is world-writable.
    for (const dir of ['ml_models', 'ml_cache', 'scalers', 'stock_data/historical', 'stock_data/cache', 'logs/application', 'backups', 'config']) {
      const stat = await lstat(path.join(dataDir, dir));
      assert.ok(stat.isDirectory(), dir);
      assert.equal(stat.mode & 0o002, 0, `${dir} is not world-writable`);
    }
    assert.ok((await readdir(path.join(dataDir, 'stock_data', 'historical'))).includes('NVDA.csv'), 'historical prices seeded');
    await rm(dataDir, { recursive: true, force: true });
  });
});
