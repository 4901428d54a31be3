import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importKerasModel } from '../../src/keras-import/import-keras.js';
import { CsvMarketData } from '../../src/market/csv.js';
import { selectBackend } from '../../src/ml/backend.js';
import { parseImportedScaler } from '../../src/ml/imported/imported-scaler.js';
import { ModelStore } from '../../src/model-store/store.js';
import { tempDir } from '../model-store/fixtures.js';
import { historicalDir, kerasWeights, maxAbsDiff, predictValues, python, sampleBars, trainingData } from './fixtures.js';

const WINDOW = 12;

/** LSTM(seq) → Dropout → BatchNormalization → LSTM(relu) → Dense(relu) → Dense: the seed's layer kinds, small. */
function originalModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.lstm({ units: 5, returnSequences: true, inputShape: [WINDOW, 1], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), recurrentInitializer: tf.initializers.orthogonal({ seed: 2 }) }));
  model.add(tf.layers.dropout({ rate: 0.2, seed: 3 }));
  model.add(tf.layers.batchNormalization({}));
  model.add(tf.layers.lstm({ units: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }), recurrentInitializer: tf.initializers.orthogonal({ seed: 5 }) }));
  model.add(tf.layers.dense({ units: 4, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }));
  model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }));
  return model;
}

const NAMES = ['lstm', 'dropout', 'batch_normalization', 'lstm_1', 'dense', 'dense_1'];

function keras2Config(): unknown {
  return {
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      layers: [
        { class_name: 'LSTM', config: { name: 'lstm', trainable: true, batch_input_shape: [null, WINDOW, 1], dtype: 'float32', return_sequences: true, return_state: false, go_backwards: false, stateful: false, unroll: false, time_major: false, units: 5, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, unit_forget_bias: true, dropout: 0, recurrent_dropout: 0, implementation: 2 } },
        { class_name: 'Dropout', config: { name: 'dropout', trainable: true, dtype: 'float32', rate: 0.2, noise_shape: null, seed: null } },
        { class_name: 'BatchNormalization', config: { name: 'batch_normalization', trainable: true, dtype: 'float32', axis: [2], momentum: 0.99, epsilon: 0.001, center: true, scale: true } },
        { class_name: 'LSTM', config: { name: 'lstm_1', trainable: true, dtype: 'float32', return_sequences: false, units: 3, activation: 'relu', recurrent_activation: 'sigmoid', use_bias: true } },
        { class_name: 'Dense', config: { name: 'dense', trainable: true, dtype: 'float32', units: 4, activation: 'relu', use_bias: true } },
        { class_name: 'Dense', config: { name: 'dense_1', trainable: true, dtype: 'float32', units: 1, activation: 'linear', use_bias: true } },
      ],
    },
    keras_version: '2.12.0',
    backend: 'tensorflow',
  };
}

function keras3Config(): unknown {
  const dtype = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
  const layer = (class_name: string, config: Record<string, unknown>, inputShape?: unknown) => ({
    module: 'keras.layers', class_name, config: { trainable: true, dtype, ...config }, registered_name: null,
    ...(inputShape === undefined ? {} : { build_config: { input_shape: inputShape } }),
  });
  return {
    module: 'keras', class_name: 'Sequential', registered_name: null,
    config: {
      name: 'sequential', trainable: true, dtype,
      layers: [
        { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, WINDOW, 1], dtype: 'float32', sparse: false, name: 'input_layer' }, registered_name: null },
        layer('LSTM', { name: 'lstm', return_sequences: true, return_state: false, go_backwards: false, stateful: false, unroll: false, units: 5, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, seed: null }, [null, WINDOW, 1]),
        layer('Dropout', { name: 'dropout', rate: 0.2, seed: null, noise_shape: null }, [null, WINDOW, 5]),
        layer('BatchNormalization', { name: 'batch_normalization', axis: -1, momentum: 0.99, epsilon: 0.001, center: true, scale: true, synchronized: false }, [null, WINDOW, 5]),
        layer('LSTM', { name: 'lstm_1', return_sequences: false, units: 3, activation: 'relu', recurrent_activation: 'sigmoid', use_bias: true }, [null, WINDOW, 5]),
        layer('Dense', { name: 'dense', units: 4, activation: 'relu', use_bias: true }, [null, 3]),
        layer('Dense', { name: 'dense_1', units: 1, activation: 'linear', use_bias: true }, [null, 4]),
      ],
      build_input_shape: [null, WINDOW, 1],
    },
    build_config: { input_shape: [null, WINDOW, 1] },
  };
}

function layerWeights(model: tf.Sequential) {
  const lstm = ['kernel', 'recurrent_kernel', 'bias'];
  return [
    kerasWeights(model.layers[0] as tf.layers.Layer, 'lstm', lstm, 'lstm_cell'),
    { name: 'dropout', weights: [] },
    kerasWeights(model.layers[2] as tf.layers.Layer, 'batch_normalization', ['gamma', 'beta', 'moving_mean', 'moving_variance']),
    kerasWeights(model.layers[3] as tf.layers.Layer, 'lstm_1', lstm, 'lstm_cell'),
    kerasWeights(model.layers[4] as tf.layers.Layer, 'dense', ['kernel', 'bias']),
    kerasWeights(model.layers[5] as tf.layers.Layer, 'dense_1', ['kernel', 'bias']),
  ];
}

describe('import-keras: Keras HDF5 + scikit-learn scaler → a served, evaluated model', () => {
  let root: string;
  let original: tf.Sequential;
  let probe: tf.Tensor3D;
  let closes: number[];
  let backend: string;

  before(async () => {
    backend = await selectBackend('auto');
    root = await tempDir('keras-import');
    const bars = await sampleBars();
    closes = bars.map((b) => b.adjClose);
    original = originalModel();
    original.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    // A real (short) fit on real closes, so the weights and BatchNormalization's moving statistics are the project's own.
    const { x, y } = trainingData(closes.slice(-400), WINDOW);
    await original.fit(x, y, { epochs: 3, batchSize: 32, verbose: 0, shuffle: false });
    tf.dispose([x, y]);
    probe = tf.tensor3d(Array.from({ length: 8 * WINDOW }, (_, i) => 0.3 + 0.5 * Math.sin(i * 0.37)), [8, WINDOW, 1]);
  });

  after(async () => {
    original.dispose();
    probe.dispose();
    await rm(root, { recursive: true, force: true });
  });

  function store(dir: string): ModelStore {
    return new ModelStore({ modelsDir: path.join(dir, 'ml_models'), scalersDir: path.join(dir, 'scalers') });
  }

  for (const layout of ['keras2', 'keras3'] as const) {
    it(`${layout} layout: the imported network predicts what the tfjs original does (to 1e-5), and is evaluated and served`, async () => {
      const dir = path.join(root, layout);
      const h5 = path.join(root, `${layout}.h5`);
      python('write_keras_h5.py', { path: h5, layout, model_config: layout === 'keras2' ? keras2Config() : keras3Config(), layers: layerWeights(original), chunk_attributes: layout === 'keras3' });
      const pkl = path.join(root, `${layout}_scalers.pkl`);
      const fit = closes.slice(0, Math.floor(closes.length * 0.7)).map((c) => [c]);
      python('write_scaler.py', layout === 'keras2'
        ? { path: pkl, kind: 'minmax', format: 'joblib', fit, target_fit: fit, probe: [[100]], target_probe: [[100]] }
        : { path: pkl, kind: 'standard', format: 'pickle', protocol: 5, fit, probe: [[100]] });
      const modelStore = store(dir);
      const market = new CsvMarketData({ directory: await historicalDir(dir) });
      const imported = await importKerasModel({ modelFile: h5, scalerFile: pkl, symbol: 'NVDA', horizon: 5, store: modelStore, market, backend });

      const loaded = await modelStore.loadModel('nvda');
      try {
        const diff = maxAbsDiff(predictValues(loaded.model, probe), predictValues(original, probe));
        assert.ok(diff <= 1e-5, `imported vs original max |diff| ${diff}`);
      } finally {
        loaded.model.dispose();
      }
      const metadata = await modelStore.readMetadata('nvda');
      assert.equal(metadata.version, imported.version);
      assert.equal(metadata.origin?.kind, 'keras_import');
      assert.equal(metadata.origin?.layout, layout === 'keras2' ? 'keras2' : 'keras3-legacy-h5');
      assert.equal(metadata.origin?.model_file, `${layout}.h5`);
      assert.equal(metadata.origin?.scaler_format, layout === 'keras2' ? 'joblib' : 'pickle');
      assert.deepEqual(metadata.origin?.layers, ['LSTM(5, tanh, return_sequences)', 'Dropout(0.2)', 'BatchNormalization(epsilon=0.001)', 'LSTM(3, relu)', 'Dense(4, relu)', 'Dense(1, linear)']);
      assert.equal(metadata.origin?.multi_step, 'iterated');
      // Evaluated like a native model: the test split against naive on the same days.
      const e = metadata.evaluation;
      assert.ok(e.test_days > 500, `test days ${e.test_days}`);
      assert.ok(e.naive_mae > 0 && Number.isFinite(e.mae) && e.mae_ratio === e.mae / e.naive_mae);
      assert.ok(e.always_up_hit_rate > 0.3 && e.always_up_hit_rate < 0.7);
      // and calibrated like one: shrinkage, bands and probability fitted on its validation forecasts
      assert.equal(metadata.calibration.intervals.q80.length, 5);
      assert.ok((metadata.calibration.intervals.q80[4] as number) > 0);
      assert.equal(metadata.calibration.shrinkage.length, 5);
      assert.ok(e.lstm_mae > 0 && Number.isFinite(e.lstm_mae_ratio), 'the raw network is scored beside the served forecast');

      // Served like a native model: the forecaster from the store, its day 1 is the network's own next close.
      const forecaster = await modelStore.loadForecaster('nvda');
      try {
        const bars = await sampleBars();
        const forecast = await forecaster.forecast(bars, 5);
        assert.equal(forecast.points.length, 5);
        const scaler = parseImportedScaler(await (await import('node:fs/promises')).readFile(modelStore.scalerFile('nvda', imported.version), 'utf8'));
        const last = closes.slice(-WINDOW).map((c) => [c * (scaler.features.multiply[0] as number) + (scaler.features.add[0] as number)]);
        const y = predictValues(original, tf.tensor3d([last]))[0] as number;
        const expected = (y - (scaler.target.add[0] as number)) / (scaler.target.multiply[0] as number);
        assert.ok(Math.abs((forecast.points[0]?.lstm_price as number) - expected) <= 1e-4 * expected, `${forecast.points[0]?.lstm_price} vs ${expected}`);
        const current = bars.at(-1)?.adjClose as number;
        const k = metadata.calibration.shrinkage[0] as number;
        assert.ok(Math.abs(Math.log((forecast.points[0]?.price as number) / current) - k * Math.log(expected / current)) < 1e-9, 'served = factor × the network');
        for (const p of forecast.points) assert.ok(p.lower_95 < p.lower_80 && p.lower_80 < p.price && p.price < p.upper_80 && p.upper_80 < p.upper_95);
      } finally {
        forecaster.dispose();
      }
    });
  }

  it('writes one version folder and its scaler, nothing else', async () => {
    const dir = path.join(root, 'keras2');
    assert.deepEqual(await readdir(path.join(dir, 'ml_models')), ['nvda_lstm_model']);
    assert.equal((await readdir(path.join(dir, 'scalers'))).length, 1);
  });
});
