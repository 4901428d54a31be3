import assert from 'node:assert/strict';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/server/app.js';
import { runCli } from '../cli/run-cli.js';
import { tempDir } from '../model-store/fixtures.js';
import { makeDataDir, testConfig } from '../server/fixtures.js';
import { sampleDir } from '../helpers/paths.js';
import { historicalDir, writeLegacyFiles } from './fixtures.js';

describe('migration: legacy files are listed, imported with the printed command, then served like native models', () => {
  let dataDir: string;
  let emptyShipped: string;
  before(async () => {
    dataDir = await makeDataDir();
    emptyShipped = await tempDir('no-shipped-models');
    await historicalDir(dataDir);
    await mkdir(path.join(dataDir, 'ml_models'), { recursive: true });
    writeLegacyFiles(path.join(dataDir, 'ml_models'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(emptyShipped, { recursive: true, force: true });
  });

  it('lists the legacy files at start-up (one log line) and in `models status`, with the import command', async () => {
    const app = await buildApp({ config: testConfig(dataDir), logToStdout: false, shippedModelsDir: emptyShipped, sampleDataDir: sampleDir });
    await app.ready();
    await app.started;
    await app.close();
    const log = await readFile(path.join(dataDir, 'logs', 'application', 'stock-prediction.log'), 'utf8');
    const line = log.split('\n').find((l) => l.includes('legacy Keras model files'));
    assert.ok(line, 'a start-up log line names the legacy files');
    assert.match(line, /nvda_lstm_model\.h5 \+ nvda_lstm_model_scalers\.pkl: npm run models -- import-keras \S+nvda_lstm_model\.h5 --scaler \S+nvda_lstm_model_scalers\.pkl --symbol NVDA/);

    const status = await runCli(['status'], { PERSISTENT_DATA_PATH: dataDir });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /legacy Keras files in .*ml_models \(not served until imported\):\n {2}nvda_lstm_model\.h5 \+ nvda_lstm_model_scalers\.pkl: npm run models -- import-keras /);
  });

  it('imports with the printed command and serves the model by the same routes, its card saying it was imported', async () => {
    const status = await runCli(['status'], { PERSISTENT_DATA_PATH: dataDir });
    const command = /npm run models -- (import-keras .*)$/m.exec(status.stdout)?.[1];
    assert.ok(command);
    const imported = await runCli([...command.split(' '), '--horizon', '3'], { PERSISTENT_DATA_PATH: dataDir });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /^imported nvda_lstm_model\.h5 \(keras2, Keras 2\.12\.0\) with nvda_lstm_model_scalers\.pkl \(joblib: MinMaxScaler \/ MinMaxScaler\)/m);
    assert.match(imported.stdout, /LSTM\(3, tanh\) -> Dropout\(0\.2\) -> Dense\(1, linear\)/);
    assert.match(imported.stdout, /days 2\.\.3 by iterating the network on its own output/);
    assert.match(imported.stdout, /^nvda\s+v\S+\s+\d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d\s+\d+\s/m);
    assert.match(imported.stdout, /nvda: (does NOT beat|beats) the naive last-close forecast/);
    // The file stays where it was; status now says which version it became instead of the command again.
    const version = /^nvda\s+(v\S+)\s/m.exec(imported.stdout)?.[1];
    const after = await runCli(['status'], { PERSISTENT_DATA_PATH: dataDir });
    assert.match(after.stdout, new RegExp(`^ {2}nvda_lstm_model\\.h5: imported as nvda ${version}$`, 'm'));
    assert.doesNotMatch(after.stdout, /import-keras/);

    const app = await buildApp({ config: testConfig(dataDir, { SEED_ON_START: 'false' }), logToStdout: false, shippedModelsDir: emptyShipped, sampleDataDir: sampleDir });
    try {
      await app.ready();
      await app.started;
      const res = await app.inject({ method: 'GET', url: '/api/v1/predict/NVDA?days=3' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { forecast: unknown[]; model: { fallback: boolean; horizon: number; origin?: { kind: string; model_file: string; multi_step: string }; evaluation: { naive_mae: number; test_days: number } } };
      assert.equal(body.forecast.length, 3);
      assert.equal(body.model.fallback, false);
      assert.equal(body.model.origin?.kind, 'keras_import');
      assert.equal(body.model.origin?.model_file, 'nvda_lstm_model.h5');
      assert.equal(body.model.origin?.multi_step, 'iterated');
      assert.ok(body.model.evaluation.test_days > 500 && body.model.evaluation.naive_mae > 0);
      const tooFar = await app.inject({ method: 'GET', url: '/api/v1/predict/NVDA?days=4' });
      assert.equal(tooFar.statusCode, 400, tooFar.body);
      const card = await app.inject({ method: 'GET', url: '/api/v1/models/NVDA' });
      assert.equal((card.json() as { origin?: { layers: string[] } }).origin?.layers.length, 3);
      const tests = await app.inject({ method: 'GET', url: '/api/v1/models/NVDA/test-forecasts?days=5' });
      assert.equal(tests.statusCode, 200, tests.body);
    } finally {
      await app.close();
    }
  });

  it('refuses a bad file from the command line with exit status 2 and one line naming it', async () => {
    const bad = await runCli(['import-keras', path.join(dataDir, 'ml_models', 'nvda_lstm_model_scalers.pkl'), '--scaler', path.join(dataDir, 'ml_models', 'nvda_lstm_model_scalers.pkl'), '--symbol', 'NVDA'], { PERSISTENT_DATA_PATH: dataDir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: nvda_lstm_model_scalers\.pkl: not a readable HDF5 file/);
  });
});
