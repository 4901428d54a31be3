import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { CorruptModelError, NotFoundError, ValidationError } from '../../src/errors.js';
import { ModelStore } from '../../src/model-store/store.js';
import { compareVersions, nextVersion } from '../../src/model-store/versions.js';
import type { TestForecastPoint } from '../../src/ml/types.js';
import { artifacts, predict, tempDir } from './fixtures.js';

async function newStore(keepVersions = 5): Promise<ModelStore> {
  const root = await tempDir('model-store');
  return new ModelStore({ modelsDir: path.join(root, 'ml_models'), scalersDir: path.join(root, 'scalers'), keepVersions });
}

function assertClose(actual: Float32Array, expected: Float32Array): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i += 1) assert.ok(Math.abs((actual[i] ?? NaN) - (expected[i] ?? NaN)) <= 1e-6, `output ${i}: ${actual[i]} vs ${expected[i]}`);
}

/** Saves two versions of `nvda` and returns them, oldest first; the second is current. */
async function twoVersions(store: ModelStore): Promise<[string, string]> {
  const first = await store.saveModel(artifacts('nvda', 1));
  const second = await store.saveModel(artifacts('nvda', 2));
  return [first, second];
}

describe('model versions', () => {
  it('sort chronologically, same-second saves included', () => {
    const at = new Date('2026-11-25T22:30:00.123Z');
    assert.equal(nextVersion(at, []), 'v20261125T223000Z');
    assert.equal(nextVersion(at, ['v20261125T223000Z']), 'v20261125T223000Z-2');
    assert.equal(nextVersion(at, ['v20261125T223000Z', 'v20261125T223000Z-9']), 'v20261125T223000Z-10');
    const sorted = ['v20261125T223000Z-10', 'v20261125T223001Z', 'v20261125T223000Z', 'v20261125T223000Z-2'].sort(compareVersions);
    assert.deepEqual(sorted, ['v20261125T223000Z', 'v20261125T223000Z-2', 'v20261125T223000Z-10', 'v20261125T223001Z']);
  });
});

describe('ModelStore', () => {
  it('loads a saved model that predicts exactly what it predicted before saving', async () => {
    const store = await newStore();
    const saved = artifacts('nvda', 7);
    const before = predict(saved.model);
    const version = await store.saveModel(saved);
    const loaded = await store.loadModel('NVDA');
    assertClose(predict(loaded.model), before);
    assert.equal(loaded.metadata.version, version);
    assert.equal(loaded.scalerJson, saved.scalerJson);
    assert.equal(await store.currentVersion('nvda'), version);
    assert.deepEqual(await store.keys(), ['nvda']);
    const files = await fs.readdir(store.versionDir('nvda', version));
    assert.deepEqual(files.sort(), ['manifest.json', 'metadata.json', 'model.json', 'weights.bin']);
    await fs.access(store.scalerFile('nvda', version));
  });

  it('makes each new save current and lists versions newest first with their metadata', async () => {
    const store = await newStore();
    const [first, second] = await twoVersions(store);
    assert.ok(compareVersions(first, second) < 0);
    const versions = await store.versions('nvda');
    assert.deepEqual(versions.map((v) => [v.version, v.current, v.complete]), [[second, true, true], [first, false, true]]);
    assert.equal(versions[0]?.beats_naive, true);
    assert.equal(versions[0]?.naive_mae, 1.2);
  });

  it('refuses corrupt weights, naming the file, and keeps the previous version current', async () => {
    const store = await newStore();
    const [first, second] = await twoVersions(store);
    await store.promote('nvda', first);
    const weights = path.join(store.versionDir('nvda', second), 'weights.bin');
    const bytes = await fs.readFile(weights);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    await fs.writeFile(weights, bytes);
    await assert.rejects(store.loadModel('nvda', second), (e: unknown) => e instanceof CorruptModelError && e.message.includes(weights));
    await assert.rejects(store.promote('nvda', second), CorruptModelError);
    assert.equal(await store.currentVersion('nvda'), first);
    await store.loadModel('nvda');
  });

  it('refuses a truncated model.json', async () => {
    const store = await newStore();
    const [first, second] = await twoVersions(store);
    await store.promote('nvda', first);
    const modelJson = path.join(store.versionDir('nvda', second), 'model.json');
    const text = await fs.readFile(modelJson, 'utf8');
    await fs.writeFile(modelJson, text.slice(0, Math.floor(text.length / 2)));
    await assert.rejects(store.loadModel('nvda', second), (e: unknown) => e instanceof CorruptModelError && e.message.includes(modelJson) && /truncated/.test(e.message));
    await assert.rejects(store.promote('nvda', second), CorruptModelError);
    assert.equal(await store.currentVersion('nvda'), first);
  });

  it('refuses a version whose weights file is missing, naming it', async () => {
    const store = await newStore();
    const [, second] = await twoVersions(store);
    const weights = path.join(store.versionDir('nvda', second), 'weights.bin');
    await fs.rm(weights);
    await assert.rejects(store.loadModel('nvda'), (e: unknown) => e instanceof CorruptModelError && e.message === `${weights} is missing`);
  });

  it('refuses a half-written version without a manifest, and rollback skips it', async () => {
    const store = await newStore();
    const [first, second] = await twoVersions(store);
    const manifest = path.join(store.versionDir('nvda', second), 'manifest.json');
    await fs.rm(manifest);
    await assert.rejects(store.loadModel('nvda'), (e: unknown) => e instanceof CorruptModelError && e.message.includes(manifest));
    await assert.rejects(store.promote('nvda', second), CorruptModelError);
    assert.deepEqual(await store.rollback('nvda'), { from: second, to: first });
    assert.equal((await store.versions('nvda')).find((v) => v.version === second)?.complete, false);
  });

  it('refuses a scaler that is not the one the model was trained with', async () => {
    const store = await newStore();
    const [first, second] = await twoVersions(store);
    await store.promote('nvda', first);
    // Another version's (valid) scaler put in place of this version's.
    const scaler = store.scalerFile('nvda', second);
    await fs.copyFile(store.scalerFile('nvda', first), scaler);
    await assert.rejects(store.loadModel('nvda', second), (e: unknown) => e instanceof CorruptModelError && e.message.includes(scaler) && /scaler_sha256/.test(e.message));
    await assert.rejects(store.promote('nvda', second), CorruptModelError);
    assert.equal(await store.currentVersion('nvda'), first);
    await fs.rm(scaler);
    await assert.rejects(store.loadModel('nvda', second), (e: unknown) => e instanceof CorruptModelError && /missing/.test(e.message));
  });

  it('rolls back to the previous version and promotes any kept one', async () => {
    const store = await newStore();
    const [first, second] = await twoVersions(store);
    const third = await store.saveModel(artifacts('nvda', 3));
    assert.deepEqual(await store.rollback('nvda'), { from: third, to: second });
    assert.deepEqual(await store.rollback('nvda'), { from: second, to: first });
    await assert.rejects(store.rollback('nvda'), NotFoundError);
    assert.equal(await store.currentVersion('nvda'), first);
    const loaded = await store.loadModel('nvda');
    assertClose(predict(loaded.model), predict(artifacts('nvda', 1).model));
    await store.promote('nvda', third);
    assert.equal(await store.currentVersion('nvda'), third);
    await assert.rejects(store.promote('nvda', 'v20200101T000000Z'), NotFoundError);
    await assert.rejects(store.promote('nvda', '../../etc'), ValidationError);
  });

  it('keeps only the newest N versions, and their scalers', async () => {
    const store = await newStore(2);
    const saved: string[] = [];
    for (let seed = 1; seed <= 4; seed += 1) saved.push(await store.saveModel(artifacts('msft', seed)));
    assert.deepEqual((await store.versions('msft')).map((v) => v.version), [saved[3], saved[2]]);
    const scalers = (await fs.readdir(store.scalersDir)).sort();
    assert.deepEqual(scalers, [`msft_scaler_${saved[2]}.json`, `msft_scaler_${saved[3]}.json`].sort());
  });

  it('never prunes the current version, even when it is older than the kept ones', async () => {
    const store = await newStore(3);
    const a = await store.saveModel(artifacts('msft', 1));
    const b = await store.saveModel(artifacts('msft', 2));
    const c = await store.saveModel(artifacts('msft', 3));
    await store.promote('msft', a);
    const stricter = new ModelStore({ modelsDir: store.modelsDir, scalersDir: store.scalersDir, keepVersions: 1 });
    const report = await stricter.clean();
    assert.deepEqual(report.removedVersions, [{ key: 'msft', version: b }]);
    assert.deepEqual((await stricter.versions('msft')).map((v) => v.version), [c, a]);
    assert.equal(await stricter.currentVersion('msft'), a);
    await stricter.loadModel('msft');
  });

  it('clean removes leftovers of dead writers but not of live ones', async () => {
    const store = await newStore();
    const version = await store.saveModel(artifacts('aapl', 1));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const modelDir = store.modelDir('aapl');
    const staleStaging = path.join(modelDir, `.v20261125T000000Z.tmp-${deadPid}-abcd`);
    await fs.mkdir(staleStaging);
    await fs.writeFile(path.join(staleStaging, 'model.json'), '{');
    const staleTemp = path.join(store.scalersDir, `.aapl_scaler_x.json.tmp-${deadPid}-beef`);
    await fs.writeFile(staleTemp, '{');
    const liveTemp = path.join(modelDir, `.CURRENT.tmp-${process.pid}-cafe`);
    await fs.writeFile(liveTemp, version);
    const report = await store.clean();
    assert.deepEqual(report.removedFiles.sort(), [staleStaging, staleTemp].sort());
    await fs.access(liveTemp);
    await store.loadModel('aapl');
  });

  it('switches CURRENT atomically: a reader never sees it missing or partial', async () => {
    const store = await newStore();
    const [first, second] = await twoVersions(store);
    const current = path.join(store.modelDir('nvda'), 'CURRENT');
    // A separate thread reads the pointer in a tight loop while this one flips it back and forth.
    const reader = new Worker(
      `const { readFileSync } = require('node:fs'); const { parentPort, workerData } = require('node:worker_threads');
       const seen = {}; let bad = 0; let reads = 0; let stop = false;
       parentPort.on('message', () => { stop = true; });
       (function loop() {
         for (let i = 0; i < 200; i += 1) {
           reads += 1;
           try { const v = readFileSync(workerData.current, 'utf8').trim(); if (workerData.valid.includes(v)) seen[v] = (seen[v] || 0) + 1; else bad += 1; } catch { bad += 1; }
         }
         if (stop) parentPort.postMessage({ seen, bad, reads }); else setImmediate(loop);
       })();`,
      { eval: true, workerData: { current, valid: [first, second] } },
    );
    const result = new Promise<{ seen: Record<string, number>; bad: number; reads: number }>((resolve) => reader.once('message', resolve));
    for (let i = 0; i < 150; i += 1) await store.promote('nvda', i % 2 === 0 ? first : second);
    reader.postMessage('stop');
    const { seen, bad, reads } = await result;
    await reader.terminate();
    assert.equal(bad, 0, `${bad} of ${reads} reads saw no valid CURRENT`);
    assert.ok(reads > 0);
    assert.ok(Object.keys(seen).length >= 1);
  });

  it('seeds an empty store from shipped models, and only an empty one', async () => {
    const shipped = await newStore();
    const version = await shipped.saveModel(artifacts('tsla', 4));
    const globalVersion = await shipped.saveModel(artifacts('global', 5));
    // The shipped layout: <dir>/<key>_lstm_model/... and <dir>/scalers/.
    await fs.rename(shipped.scalersDir, path.join(shipped.modelsDir, 'scalers'));
    const target = await newStore();
    const report = await target.seedFrom(shipped.modelsDir);
    assert.deepEqual(report.seeded, [{ key: 'global', version: globalVersion }, { key: 'tsla', version }]);
    assert.deepEqual(report.refused, []);
    assert.equal(await target.currentVersion('tsla'), version);
    assertClose(predict((await target.loadModel('tsla')).model), predict(artifacts('tsla', 4).model));
    assert.deepEqual((await target.seedFrom(shipped.modelsDir)).seeded, []);
  });

  it('does not seed a corrupt shipped model', async () => {
    const shipped = await newStore();
    const version = await shipped.saveModel(artifacts('tsla', 4));
    await fs.rename(shipped.scalersDir, path.join(shipped.modelsDir, 'scalers'));
    await fs.appendFile(path.join(shipped.versionDir('tsla', version), 'weights.bin'), 'x');
    const target = await newStore();
    const report = await target.seedFrom(shipped.modelsDir);
    assert.deepEqual(report.seeded, []);
    assert.equal(report.refused[0]?.version, version);
    assert.deepEqual(await target.keys(), []);
  });
  it('keeps the test-split forecasts with the version, checksummed, and seeds them along', async () => {
    const store = await newStore();
    const point: TestForecastPoint = { date: '2024-06-03', actual: 101.5, predicted: 100.8, lstm_predicted: 100.9, lower_80: 99.1, upper_80: 102.4, lower_95: 98.2, upper_95: 103.4, naive: 100.2, probability_up: 0.54 };
    const older = await store.saveModel(artifacts('tsla', 3));
    const version = await store.saveModel({ ...artifacts('tsla', 4), testForecasts: { TSLA: [point] } });
    const manifest = JSON.parse(await fs.readFile(path.join(store.versionDir('tsla', version), 'manifest.json'), 'utf8')) as { files: Record<string, unknown> };
    assert.ok(manifest.files['test_forecasts.json'], 'the manifest covers test_forecasts.json');
    assert.deepEqual(await store.readTestForecasts('tsla', 'TSLA'), [point]);
    assert.deepEqual(await store.readTestForecasts('tsla', 'tsla', version), [point]);
    assert.deepEqual(await store.readTestForecasts('tsla', 'NVDA'), [], 'no points for a symbol the model was not tested on');
    assert.deepEqual(await store.readTestForecasts('tsla', 'TSLA', older), [], 'a version saved without them has none');
    await fs.rename(store.scalersDir, path.join(store.modelsDir, 'scalers'));
    const target = await newStore();
    await target.seedFrom(store.modelsDir);
    assert.deepEqual(await target.readTestForecasts('tsla', 'TSLA', version), [point]);
  });

  it('refuses tampered or missing test-split forecasts like any other corrupt file', async () => {
    const store = await newStore();
    const point: TestForecastPoint = { date: '2024-06-03', actual: 101.5, predicted: 100.8, lstm_predicted: 100.9, lower_80: 99.1, upper_80: 102.4, lower_95: 98.2, upper_95: 103.4, naive: 100.2, probability_up: 0.54 };
    const older = await store.saveModel(artifacts('tsla', 3));
    const version = await store.saveModel({ ...artifacts('tsla', 4), testForecasts: { TSLA: [point] } });
    const file = path.join(store.versionDir('tsla', version), 'test_forecasts.json');
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace('101.5', '111.5'));
    await assert.rejects(store.readTestForecasts('tsla', 'TSLA'), (e: unknown) => e instanceof CorruptModelError && e.message.includes(file));
    await assert.rejects(store.verify('tsla', version), CorruptModelError);
    await store.promote('tsla', older);
    await assert.rejects(store.promote('tsla', version), CorruptModelError);
    assert.equal(await store.currentVersion('tsla'), older);
    await fs.rm(file);
    await assert.rejects(store.readTestForecasts('tsla', 'TSLA', version), (e: unknown) => e instanceof CorruptModelError && e.message.includes('missing'));
  });
});
