import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, readdir, rm, truncate, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LegacyFileError } from '../../src/errors.js';
import { importKerasModel } from '../../src/keras-import/import-keras.js';
import { importedScaler, readScalerFile } from '../../src/keras-import/scaler-file.js';
import { CsvMarketData } from '../../src/market/csv.js';
import { selectBackend } from '../../src/ml/backend.js';
import { scaleColumn } from '../../src/ml/imported/imported-scaler.js';
import { ModelStore } from '../../src/model-store/store.js';
import { tempDir } from '../model-store/fixtures.js';
import { historicalDir, PYTHON, python } from './fixtures.js';

const WINDOW = 6;
const lstmConfig = (extra: Record<string, unknown> = {}) => ({ name: 'lstm', batch_input_shape: [null, WINDOW, 1], units: 2, return_sequences: false, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, ...extra });
const denseConfig = { name: 'dense', units: 1, activation: 'linear', use_bias: true };
const lstmWeights = (kernelShape = [1, 8]) => ({
  name: 'lstm', cell: 'lstm_cell',
  weights: [
    { name: 'kernel', shape: kernelShape, values: Array.from({ length: kernelShape.reduce((a, b) => a * b, 1) }, (_, i) => 0.1 * Math.sin(i)) },
    { name: 'recurrent_kernel', shape: [2, 8], values: Array.from({ length: 16 }, (_, i) => 0.1 * Math.cos(i)) },
    { name: 'bias', shape: [8], values: new Array(8).fill(0.01) },
  ],
});
const denseWeights = { name: 'dense', weights: [{ name: 'kernel', shape: [2, 1], values: [0.5, -0.3] }, { name: 'bias', shape: [1], values: [0.1] }] };

function h5Spec(file: string, overrides: { layers?: unknown[]; configLayers?: unknown[]; className?: string } = {}) {
  return {
    path: file,
    layout: 'keras2',
    model_config: { class_name: overrides.className ?? 'Sequential', config: { name: 'sequential', layers: overrides.configLayers ?? [{ class_name: 'LSTM', config: lstmConfig() }, { class_name: 'Dense', config: denseConfig }] } },
    layers: overrides.layers ?? [lstmWeights(), denseWeights],
  };
}

describe('import-keras: scaler files and refused files', () => {
  let root: string;
  let goodH5: string;
  let goodScaler: string;
  let historical: string;
  const probe = [[0.5], [12.25], [100], [431.5]];
  const fit = Array.from({ length: 50 }, (_, i) => [1 + i * 3.7 + Math.sin(i) * 2]);

  const formats = [
    ...[2, 3, 4, 5].map((protocol) => ({ format: 'pickle', protocol })),
    { format: 'joblib' },
    { format: 'joblib-zlib' },
  ];
  const columns = ['Close', 'Volume'];
  const rows = fit.map(([c], i) => [c as number, 1e6 + i * 1234]);
  const probeRows = probe.map(([c], i) => [c as number, 2e6 + i]);
  const scalerCases = ['minmax', 'standard'].flatMap((kind) =>
    formats.map((f) => {
      const label = `${kind} ${f.format}${'protocol' in f ? ` protocol ${f.protocol}` : ''}`;
      return { kind, f, label, file: () => path.join(root, `${label.replace(/ /g, '_')}.pkl`) };
    }),
  );
  /** scikit-learn's transform of the probe rows, per scaler file (written together in before()). */
  const sklearnTransform = new Map<string, number[][]>();

  before(async () => {
    await selectBackend('auto');
    root = await tempDir('keras-files');
    historical = await historicalDir(root);
    goodH5 = path.join(root, 'good.h5');
    python('write_keras_h5.py', h5Spec(goodH5));
    goodScaler = path.join(root, 'good.pkl');
    python('write_scaler.py', { path: goodScaler, kind: 'minmax', format: 'joblib', fit, probe });
    // Every format's scaler from one Python process: a start (importing scikit-learn) costs about a second.
    const specs = scalerCases.map(({ kind, f, file }) => ({ path: file(), ...f, kind, fit: rows, columns, probe: probeRows }));
    const outs = JSON.parse(python('write_scaler.py', specs)) as { transform: number[][] }[];
    scalerCases.forEach(({ label }, i) => sklearnTransform.set(label, (outs[i] as { transform: number[][] }).transform));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  for (const { kind, f, label, file: scalerFile } of scalerCases) {
    it(`reads a scikit-learn ${label} scaler: its transform equals scikit-learn's`, async () => {
      const file = scalerFile();
      const transform = sklearnTransform.get(label);
      assert.ok(transform, `no scikit-learn output for ${label}`);
      assert.equal(transform.length, probeRows.length);
      const scalers = await readScalerFile(file);
      assert.equal(scalers.format, f.format.startsWith('joblib') ? 'joblib' : 'pickle');
      assert.equal(scalers.features.type, kind === 'minmax' ? 'MinMaxScaler' : 'StandardScaler');
      // feature_names_in_ (an object array of str) names the inputs.
      const state = importedScaler(scalers, undefined, 2, path.basename(file));
      assert.deepEqual(state.inputs, ['close', 'volume']);
      transform.forEach((row, i) => row.forEach((expected, j) => {
        const value = (probeRows[i] as number[])[j] as number;
        assert.ok(Math.abs(scaleColumn(state.features, j, value) - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${label} row ${i} col ${j}`);
      }));
    });
  }

  it("reads the seed's joblib {features, target} dict: the target scaler maps the output", async () => {
    const file = path.join(root, 'nvda_lstm_model_scalers.pkl');
    const out = JSON.parse(python('write_scaler.py', { path: file, kind: 'minmax', format: 'joblib', fit, target_fit: fit.map(([c]) => [(c as number) * 2]), probe, target_probe: probe })) as { target_transform: number[][] };
    const state = importedScaler(await readScalerFile(file), ['close'], 1, 'x');
    out.target_transform.forEach((row, i) => assert.ok(Math.abs(scaleColumn(state.target, 0, probe[i]?.[0] as number) - (row[0] as number)) < 1e-12));
  });

  async function assertRefused(modelFile: string, scalerFile: string, pattern: RegExp, extra: { inputs?: string[]; window?: number } = {}): Promise<void> {
    const dir = await tempDir('keras-refused');
    try {
      const store = new ModelStore({ modelsDir: path.join(dir, 'ml_models'), scalersDir: path.join(dir, 'scalers') });
      await assert.rejects(
        importKerasModel({ modelFile, scalerFile, symbol: 'NVDA', horizon: 2, store, market: new CsvMarketData({ directory: historical }), backend: 'wasm', ...extra }),
        (error: unknown) => error instanceof LegacyFileError && pattern.test(error.message),
      );
      assert.deepEqual(await readdir(dir), [], 'nothing written');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('refuses a truncated HDF5 file', async () => {
    const file = path.join(root, 'truncated.h5');
    await copyFile(goodH5, file);
    await truncate(file, Math.floor((await readFile(goodH5)).length / 2));
    await assertRefused(file, goodScaler, /truncated\.h5: not a readable HDF5 file \(truncated file/);
  });

  it('refuses a file that is not HDF5 at all', async () => {
    const file = path.join(root, 'junk.h5');
    await writeFile(file, Buffer.from('this is not a model'.repeat(40)));
    await assertRefused(file, goodScaler, /junk\.h5: not a readable HDF5 file/);
  });

  it('refuses a layer it cannot rebuild, naming it', async () => {
    const file = path.join(root, 'conv.h5');
    python('write_keras_h5.py', h5Spec(file, { configLayers: [{ class_name: 'Conv1D', config: { name: 'conv1d', batch_input_shape: [null, WINDOW, 1], filters: 2 } }, { class_name: 'Dense', config: denseConfig }], layers: [denseWeights] }));
    await assertRefused(file, goodScaler, /layer conv1d is a Conv1D, which the importer cannot rebuild/);
  });

  it('refuses an option that changes inference (a stateful LSTM)', async () => {
    const file = path.join(root, 'stateful.h5');
    python('write_keras_h5.py', h5Spec(file, { configLayers: [{ class_name: 'LSTM', config: lstmConfig({ stateful: true }) }, { class_name: 'Dense', config: denseConfig }] }));
    await assertRefused(file, goodScaler, /layer lstm: stateful=true is not supported/);
  });

  it('refuses a functional model', async () => {
    const file = path.join(root, 'functional.h5');
    python('write_keras_h5.py', h5Spec(file, { className: 'Functional' }));
    await assertRefused(file, goodScaler, /"Functional", only Sequential models are imported/);
  });

  it('refuses weights whose shape does not match the config, before reading them', async () => {
    const file = path.join(root, 'shapes.h5');
    python('write_keras_h5.py', h5Spec(file, { layers: [lstmWeights([3, 8]), denseWeights] }));
    await assertRefused(file, goodScaler, /weight lstm\/lstm_cell\/kernel:0 of layer lstm has shape \[3, 8\], its config needs \[1, 8\]/);
  });

  it('refuses a model whose weights are missing for a layer', async () => {
    const file = path.join(root, 'missing.h5');
    python('write_keras_h5.py', h5Spec(file, { layers: [lstmWeights()] }));
    await assertRefused(file, goodScaler, /model_weights has no weights for layer dense/);
  });

  it('refuses a model with a multi-value output', async () => {
    const file = path.join(root, 'wide.h5');
    python('write_keras_h5.py', h5Spec(file, {
      configLayers: [{ class_name: 'LSTM', config: lstmConfig() }, { class_name: 'Dense', config: { ...denseConfig, units: 3 } }],
      layers: [lstmWeights(), { name: 'dense', weights: [{ name: 'kernel', shape: [2, 3], values: [1, 2, 3, 4, 5, 6] }, { name: 'bias', shape: [3], values: [0, 0, 0] }] }],
    }));
    await assertRefused(file, goodScaler, /output per sample has shape \[3\]; only a single next-day value/);
  });

  it('refuses a --window that does not match the network', async () => {
    await assertRefused(goodH5, goodScaler, /--window 30 does not match the network's input window of 6 days/, { window: 30 });
  });

  it('refuses a pickle that is not a scaler (a plain dict of lists)', async () => {
    const file = path.join(root, 'notscaler.pkl');
    const run = spawnSync(PYTHON, ['-c', `import pickle; pickle.dump({'a': [1, 2], 'b': 'x'}, open(${JSON.stringify(file)}, 'wb'), protocol=4)`]);
    assert.equal(run.status, 0);
    await assertRefused(goodH5, file, /notscaler\.pkl: holds a dict with keys \[a, b\]/);
  });

  it('refuses another scikit-learn object, naming it', async () => {
    const file = path.join(root, 'robust.pkl');
    const run = spawnSync(PYTHON, ['-c', `import joblib; from sklearn.preprocessing import RobustScaler; joblib.dump(RobustScaler().fit([[1.0], [2.0], [5.0]]), ${JSON.stringify(file)})`]);
    assert.equal(run.status, 0);
    await assertRefused(goodH5, file, /refers to sklearn\.preprocessing\._data\.RobustScaler, which is not one of the objects the importer reads/);
  });

  it('never executes a pickle: a pickle calling os.system is refused and the command does not run', async () => {
    const file = path.join(root, 'evil.pkl');
    const marker = path.join(root, 'pwned');
    const run = spawnSync(PYTHON, ['-c', `import pickle, os\nclass E:\n    def __reduce__(self): return (os.system, ('touch ${marker}',))\npickle.dump(E(), open(${JSON.stringify(file)}, 'wb'), protocol=2)`]);
    assert.equal(run.status, 0);
    await assertRefused(goodH5, file, /refers to (posix|os)\.system, which is not one of the objects/);
    await assert.rejects(readFile(marker), { code: 'ENOENT' });
  });

  it('refuses a truncated scaler pickle', async () => {
    const file = path.join(root, 'short.pkl');
    const bytes = await readFile(goodScaler);
    await writeFile(file, bytes.subarray(0, bytes.length - 20));
    await assertRefused(goodH5, file, /short\.pkl: truncated/);
  });

  it('refuses a scaler whose width does not match the network', async () => {
    const file = path.join(root, 'wide.pkl');
    python('write_scaler.py', { path: file, kind: 'minmax', format: 'pickle', fit: fit.map(([c]) => [c as number, 2 * (c as number)]), probe: [[1, 2]] });
    await assertRefused(goodH5, file, /wide\.pkl: the scaler has 2 columns, the network takes 1 inputs/, { inputs: ['close'] });
  });
});
