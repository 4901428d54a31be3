import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importKerasModel } from '../../src/keras-import/import-keras.js';
import { CsvMarketData } from '../../src/market/csv.js';
import { selectBackend } from '../../src/ml/backend.js';
import { ModelStore } from '../../src/model-store/store.js';
import { tempDir } from '../model-store/fixtures.js';
import { historicalDir, maxAbsDiff, predictValues, python } from './fixtures.js';

const WINDOW = 8;

/** Deterministic weights in [-0.5, 0.5). */
function weights(count: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: count }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

describe('import-keras: GRU (reset_after true and false) against a numpy reference of Keras GRU', () => {
  let root: string;
  before(async () => {
    await selectBackend('auto');
    root = await tempDir('keras-gru');
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it('rebuilds GRU(4, reset_after=True, return_sequences) → GRU(3, reset_after=False) → Dense(1) and round-trips it through the store', async () => {
    const gru1 = { kernel: weights(1 * 12, 1), recurrent_kernel: weights(4 * 12, 2), bias: weights(2 * 12, 3) };
    const gru2 = { kernel: weights(4 * 9, 4), recurrent_kernel: weights(3 * 9, 5), bias: weights(9, 6) };
    const dense = { kernel: weights(3, 7), bias: [0.05] };
    const h5 = path.join(root, 'gru.h5');
    python('write_keras_h5.py', {
      path: h5,
      layout: 'keras2',
      model_config: {
        class_name: 'Sequential',
        config: {
          name: 'sequential',
          layers: [
            { class_name: 'InputLayer', config: { batch_input_shape: [null, WINDOW, 1], dtype: 'float32', sparse: false, ragged: false, name: 'gru_input' } },
            { class_name: 'GRU', config: { name: 'gru', units: 4, return_sequences: true, reset_after: true, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true } },
            { class_name: 'GRU', config: { name: 'gru_1', units: 3, return_sequences: false, reset_after: false, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true } },
            { class_name: 'Dense', config: { name: 'dense', units: 1, activation: 'linear' } },
          ],
        },
      },
      layers: [
        { name: 'gru', cell: 'gru_cell', weights: [{ name: 'kernel', shape: [1, 12], values: gru1.kernel }, { name: 'recurrent_kernel', shape: [4, 12], values: gru1.recurrent_kernel }, { name: 'bias', shape: [2, 12], values: gru1.bias }] },
        { name: 'gru_1', cell: 'gru_cell', weights: [{ name: 'kernel', shape: [4, 9], values: gru2.kernel }, { name: 'recurrent_kernel', shape: [3, 9], values: gru2.recurrent_kernel }, { name: 'bias', shape: [9], values: gru2.bias }] },
        { name: 'dense', weights: [{ name: 'kernel', shape: [3, 1], values: dense.kernel }, { name: 'bias', shape: [1], values: dense.bias }] },
      ],
      dtype: 'float64',
    });
    const scaler = path.join(root, 'scaler.json');
    await writeFile(scaler, JSON.stringify({ type: 'MinMaxScaler', data_min_: [0.2], data_max_: [250], feature_range: [0, 1] }));
    const dir = path.join(root, 'data');
    const store = new ModelStore({ modelsDir: path.join(dir, 'ml_models'), scalersDir: path.join(dir, 'scalers') });
    await importKerasModel({ modelFile: h5, scalerFile: scaler, symbol: 'NVDA', horizon: 3, store, market: new CsvMarketData({ directory: await historicalDir(dir) }), backend: tf.getBackend() });

    const x = Array.from({ length: 4 }, (_, b) => Array.from({ length: WINDOW }, (_, t) => [Math.sin(b + t * 0.5)]));
    const reshape = (v: number[], rows: number, cols: number): number[][] => Array.from({ length: rows }, (_, r) => v.slice(r * cols, (r + 1) * cols));
    const expected = JSON.parse(python('gru_reference.py', {
      x,
      layers: [
        { kind: 'GRU', units: 4, reset_after: true, return_sequences: true, kernel: reshape(gru1.kernel, 1, 12), recurrent_kernel: reshape(gru1.recurrent_kernel, 4, 12), bias: reshape(gru1.bias, 2, 12) },
        { kind: 'GRU', units: 3, reset_after: false, return_sequences: false, kernel: reshape(gru2.kernel, 4, 9), recurrent_kernel: reshape(gru2.recurrent_kernel, 3, 9), bias: gru2.bias },
        { kind: 'Dense', kernel: reshape(dense.kernel, 3, 1), bias: dense.bias },
      ],
    })) as number[][];
    // Loaded back from the store: the custom GRU layer survives save and load.
    const loaded = await store.loadModel('nvda');
    try {
      const diff = maxAbsDiff(predictValues(loaded.model, tf.tensor3d(x)), expected.flat());
      assert.ok(diff <= 1e-5, `max |diff| ${diff}`);
    } finally {
      loaded.model.dispose();
    }
    const metadata = await store.readMetadata('nvda');
    assert.deepEqual(metadata.origin?.layers, ['GRU(4, tanh, return_sequences, reset_after=true)', 'GRU(3, tanh, reset_after=false)', 'Dense(1, linear)']);
    assert.equal(metadata.origin?.scaler_format, 'json');
  });
});
