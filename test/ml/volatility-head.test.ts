import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CorruptModelError } from '../../src/errors.js';
import { horizonVariances } from '../../src/ml/evaluation/volatility.js';
import { serializeScaler } from '../../src/ml/scaler.js';
import { trainModel } from '../../src/ml/training/train.js';
import type { ModelMetadata, TestForecastPoint } from '../../src/ml/types.js';
import { volatilityForecast } from '../../src/ml/volatility-head/choice.js';
import { loadVolatilityHead, type SavedVolatilityHead, type VolatilityHead } from '../../src/ml/volatility-head/head.js';
import { ModelStore, VOLATILITY_HEAD_BIN, VOLATILITY_HEAD_JSON } from '../../src/model-store/store.js';
import { tempDir } from '../model-store/fixtures.js';
import { realBars, testBackend, TINY_CONFIG } from './real-bars.js';

const near = (a: number, b: number, tolerance: number, what: string) => assert.ok(Math.abs(a - b) <= tolerance, `${what}: ${a} vs ${b}`);
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

const bars = realBars('NVDA', 700);
/** Daily log returns of the 250 bars up to and including bar t, written out from the CSV. */
const trailing = (t: number): number[] => Array.from({ length: 250 }, (_, k) => Math.log((bars[t - 249 + k]?.adjClose as number) / (bars[t - 250 + k]?.adjClose as number)));

let dir = '';
let store: ModelStore;
let metadata: ModelMetadata;
let points: TestForecastPoint[];
let saved: SavedVolatilityHead;
let storedHead: VolatilityHead;
let tfjsHead: tf.LayersModel;

before(async () => {
  dir = await tempDir('volatility-head');
  store = new ModelStore({ modelsDir: `${dir}/models`, scalersDir: `${dir}/scalers` });
  const trained = await trainModel({ key: 'nvda', series: [{ symbol: 'NVDA', bars }], config: TINY_CONFIG, backend: await testBackend(), dataSource: 'csv' });
  try {
    await store.save(trained);
    // Two versions as saved before the head existed: serving GARCH, and (broken) claiming the head without its files.
    const c = trained.metadata.calibration;
    const { head_qlike: _unused, ...classical } = c.volatility_selection;
    const { head_qlike: _gone, ...evaluation } = trained.metadata.evaluation;
    const older = { ...trained.metadata, evaluation, calibration: { ...c, volatility: c.volatility_selection.garch, volatility_selection: classical } };
    await store.saveModel({ model: trained.model, scalerJson: serializeScaler(trained.scaler), metadata: { ...older, key: 'msft' } });
    await store.saveModel({ model: trained.model, scalerJson: serializeScaler(trained.scaler), metadata: { ...older, key: 'amzn', calibration: { ...older.calibration, volatility: { kind: 'lstm_head', window: 20, units: 8 } } } });
  } finally {
    trained.model.dispose();
  }
  metadata = await store.readMetadata('nvda');
  points = await store.readTestForecasts('nvda', 'NVDA');
  const versionDir = path.join(dir, 'models', 'nvda_lstm_model', metadata.version);
  const modelJson = JSON.parse(await readFile(path.join(versionDir, VOLATILITY_HEAD_JSON), 'utf8')) as SavedVolatilityHead['modelJson'] & { weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const weightData = new Uint8Array(await readFile(path.join(versionDir, VOLATILITY_HEAD_BIN)));
  saved = { modelJson, weightData };
  storedHead = loadVolatilityHead(saved);
  tfjsHead = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology as tf.io.ModelJSON['modelTopology'], weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights), weightData: weightData.slice().buffer }),
  );
});
after(async () => {
  tfjsHead.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** The head's input written out from its definition: per day r/√L, |r|/√L, log(EWMA variance / L) over the last `window` days. */
function tfjsVariances(returns: readonly number[], horizon: number): number[] {
  const window = storedHead.window;
  const longRun = mean(returns.map((r) => r * r));
  let ewma = longRun;
  const rows = returns.map((r) => {
    ewma = 0.94 * ewma + 0.06 * r * r;
    return [r / Math.sqrt(longRun), Math.abs(r) / Math.sqrt(longRun), Math.log(ewma / longRun)];
  });
  const output = tf.tidy(() => (tfjsHead.predict(tf.tensor3d([rows.slice(-window)])) as tf.Tensor).dataSync());
  return Array.from({ length: horizon }, (_, h) => (h + 1) * longRun * Math.exp(output[h] as number));
}

describe('the LSTM volatility head', () => {
  test('training on real bars saves a head with the version; its fused output equals tfjs within 1e-5', () => {
    assert.equal(storedHead.horizon, TINY_CONFIG.horizon);
    for (const t of [300, 450, 600, bars.length - 1]) {
      const fused = storedHead.variances(trailing(t), TINY_CONFIG.horizon);
      const reference = tfjsVariances(trailing(t), TINY_CONFIG.horizon);
      // log variance = the network's output plus constants: compares the outputs themselves
      fused.forEach((v, h) => near(Math.log(v), Math.log(reference[h] as number), 1e-5, `day ${t} step ${h + 1}`));
    }
  });

  test('the reported test-split QLIKE of the head, EWMA and GARCH is recomputed from the CSV and the stored files; the choice is the lowest validation QLIKE', () => {
    const e = metadata.evaluation;
    const { garch, ewma_qlike, garch_qlike, head_qlike } = metadata.calibration.volatility_selection;
    assert.ok(garch.kind === 'garch' && head_qlike !== undefined && e.head_qlike !== undefined);
    assert.equal(points.length, e.test_days);
    const index = new Map(bars.map((b, i) => [b.date, i]));
    const horizon = TINY_CONFIG.horizon;
    const losses = { head: [] as number[], ewma: [] as number[], garch: [] as number[] };
    for (const p of points) {
      const t = (index.get(p.date) as number) - 1;
      const returns = trailing(t);
      const longRun = mean(returns.map((r) => r * r));
      let [ewma, g] = [longRun, longRun];
      for (const r of returns) {
        ewma = 0.94 * ewma + 0.06 * r * r;
        g = (1 - garch.alpha - garch.beta) * longRun + garch.alpha * r * r + garch.beta * g;
      }
      const head = tfjsVariances(returns, horizon);
      let [realised, garchCumulative] = [0, 0];
      for (let h = 1; h <= horizon && t + h < bars.length; h += 1) {
        realised += Math.log((bars[t + h]?.adjClose as number) / (bars[t + h - 1]?.adjClose as number)) ** 2;
        garchCumulative += longRun + (g - longRun) * (garch.alpha + garch.beta) ** (h - 1);
        const qlike = (f: number) => Math.log(f) + realised / f;
        losses.head.push(qlike(head[h - 1] as number));
        losses.ewma.push(qlike(h * ewma));
        losses.garch.push(qlike(garchCumulative));
      }
    }
    near(mean(losses.ewma), e.ewma_qlike, 1e-9, 'EWMA QLIKE');
    near(mean(losses.garch), e.garch_qlike, 1e-9, 'GARCH QLIKE');
    near(mean(losses.head), e.head_qlike, 1e-5, 'head QLIKE');
    const served = { ewma: e.ewma_qlike, garch: e.garch_qlike, lstm_head: e.head_qlike }[e.volatility_model];
    near(e.volatility_qlike, served, 1e-12, 'served model QLIKE');
    const lowest = Math.min(garch_qlike, ewma_qlike, head_qlike);
    assert.equal(metadata.calibration.volatility.kind, lowest === garch_qlike ? 'garch' : lowest === ewma_qlike ? 'ewma' : 'lstm_head');
  });

  test('the served expected volatility is the chosen model\'s, loaded from the version\'s files', async () => {
    const forecaster = await store.loadForecaster('nvda');
    try {
      const forecast = await forecaster.forecast(bars, 5);
      const expected = volatilityForecast(metadata.calibration.volatility, storedHead, trailing(bars.length - 1), 5);
      forecast.points.forEach((p, h) => near(p.volatility, Math.sqrt(expected[h] as number), 1e-12, `step ${h + 1}`));
    } finally {
      forecaster.dispose();
    }
  });

  test('a version without a head still loads and serves GARCH; one that claims the head without its files is refused', async () => {
    const older = await store.loadForecaster('msft');
    try {
      const garch = (await store.readMetadata('msft')).calibration.volatility_selection.garch;
      const expected = horizonVariances(garch, trailing(bars.length - 1), 5);
      (await older.forecast(bars, 5)).points.forEach((p, h) => near(p.volatility, Math.sqrt(expected[h] as number), 1e-12, `step ${h + 1}`));
    } finally {
      older.dispose();
    }
    await assert.rejects(store.loadForecaster('amzn'), (error: unknown) => error instanceof CorruptModelError && /volatility_head\.json is missing/.test(error.message));
  });

  test('a version read with loadModel carries its head, so a copy saved from it (as the bench makes) loads and serves the same volatility', async () => {
    const loaded = await store.loadModel('nvda');
    try {
      assert.deepEqual(new Uint8Array(loaded.volatilityHead?.weightData ?? []), saved.weightData);
      const older = await store.loadModel('msft');
      older.model.dispose();
      assert.equal(older.volatilityHead, undefined, 'a version saved before the head has none');
      const { version: _version, scaler_sha256: _sha, ...copy } = loaded.metadata;
      await store.saveModel({ model: loaded.model, scalerJson: loaded.scalerJson, metadata: { ...copy, key: 'copy', name: 'copy_lstm_model' }, volatilityHead: loaded.volatilityHead });
    } finally {
      loaded.model.dispose();
    }
    const copy = await store.loadModel('copy');
    copy.model.dispose();
    assert.deepEqual(new Uint8Array(copy.volatilityHead?.weightData ?? []), saved.weightData, 'the copy saved the head’s files');
    const [original, copied] = [await store.loadForecaster('nvda'), await store.loadForecaster('copy')];
    try {
      assert.deepEqual((await copied.forecast(bars, 5)).points.map((p) => p.volatility), (await original.forecast(bars, 5)).points.map((p) => p.volatility));
    } finally {
      original.dispose();
      copied.dispose();
    }
  });
});
