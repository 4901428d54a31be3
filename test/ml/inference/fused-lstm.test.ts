import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createInferenceEngine, savedModelEngine, type SavedModel } from '../../../src/ml/inference/engine.js';
import { readFusedSpecOfModel } from '../../../src/ml/inference/from-layers-model.js';
import { ACTIVATIONS, FusedLstmNetwork, type FusedNetworkSpec } from '../../../src/ml/inference/fused-lstm.js';
import { createRng, type Rng } from '../../../src/ml/random.js';
import { MODEL_JSON, WEIGHTS_BIN } from '../../../src/model-store/file-io.js';
import { ModelStore } from '../../../src/model-store/store.js';
import { readFile } from 'node:fs/promises';
import { repoRoot } from '../../helpers/paths.js';
import { testBackend } from '../real-bars.js';

const TOLERANCE = 1e-5;
const shippedDir = path.join(repoRoot, 'models');

before(async () => {
  await testBackend();
});

/**
 * Largest difference to tfjs, relative to the size of tfjs's output where that exceeds 1: tfjs computes in
 * float32, so an output of 1000 carries rounding of its own near 1e-4 (the shipped models output values near 1).
 */
function maxDifference(fused: ArrayLike<number>, tfjs: ArrayLike<number>): number {
  assert.equal(fused.length, tfjs.length);
  let worst = 0;
  for (let i = 0; i < fused.length; i += 1) {
    const expected = tfjs[i] as number;
    worst = Math.max(worst, Math.abs((fused[i] as number) - expected) / Math.max(1, Math.abs(expected)));
  }
  return worst;
}

function tfjsPredict(model: tf.LayersModel, input: Float64Array): Float32Array {
  const shape = model.inputs[0]?.shape ?? [];
  return tf.tidy(() => (model.predict(tf.tensor3d(Float32Array.from(input), [1, Number(shape[1]), Number(shape[2])])) as tf.Tensor).dataSync() as Float32Array);
}

/** What `model.save` writes (model.json's fields and weights.bin's bytes), captured in memory. */
async function savedForm(model: tf.LayersModel): Promise<SavedModel> {
  let saved: SavedModel | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      saved = { modelJson: { modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['./weights.bin'], weights: artifacts.weightSpecs ?? [] }] }, weightData: new Uint8Array(data) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new Error('nothing saved');
  return saved;
}

const noTfjs = (): Promise<tf.LayersModel> => Promise.reject(new Error('the fused path must not construct a tfjs model'));

const uniform = (rng: Rng, low: number, high: number): number => low + (high - low) * rng.next();
const pick = <T>(rng: Rng, options: readonly T[]): T => options[Math.floor(rng.next() * options.length)] as T;
const randomInput = (rng: Rng, length: number, spread: number): Float64Array => Float64Array.from({ length }, () => uniform(rng, -spread, spread));

describe('fused LSTM kernel (pure)', () => {
  test('one unit over two steps matches the LSTM equations worked by hand', () => {
    // kernel [1 × 4] (gates i, f, c, o), recurrent [1 × 4], bias [4]
    const spec: FusedNetworkSpec = {
      window: 2,
      features: 1,
      lstm: [
        {
          inputSize: 1,
          units: 1,
          kernel: Float32Array.of(0.5, -0.25, 1, 0.75),
          recurrentKernel: Float32Array.of(0.1, 0.2, -0.3, 0.4),
          bias: Float32Array.of(0, 1, 0, 0),
          activation: 'tanh',
          recurrentActivation: 'hard_sigmoid',
        },
      ],
      dense: [{ inputSize: 1, units: 2, kernel: Float32Array.of(2, -1), bias: Float32Array.of(0.5, 0), activation: 'linear' }],
    };
    const hs = (x: number) => Math.min(1, Math.max(0, 0.2 * x + 0.5));
    let h = 0;
    let c = 0;
    for (const x of [1, -2]) {
      const z = [0.5 * x + 0.1 * h, -0.25 * x + 0.2 * h + 1, 1 * x - 0.3 * h, 0.75 * x + 0.4 * h] as [number, number, number, number];
      c = hs(z[1]) * c + hs(z[0]) * Math.tanh(z[2]);
      h = hs(z[3]) * Math.tanh(c);
    }
    const out = new FusedLstmNetwork(spec).predict([1, -2]);
    assert.ok(Math.abs((out[0] as number) - (2 * h + 0.5)) < 1e-7);
    assert.ok(Math.abs((out[1] as number) + h) < 1e-7);
  });

  test('hard sigmoid clips at 0 and 1, as Keras defines it', () => {
    assert.equal(ACTIVATIONS.hard_sigmoid(-3), 0);
    assert.equal(ACTIVATIONS.hard_sigmoid(3), 1);
    assert.equal(ACTIVATIONS.hard_sigmoid(1), 0.7);
  });

  test('predictions are independent: the state is reset for every window, and results are fresh arrays', () => {
    const rng = createRng(7);
    const spec: FusedNetworkSpec = {
      window: 3,
      features: 2,
      lstm: [{ inputSize: 2, units: 3, kernel: Float32Array.from({ length: 24 }, () => rng.next() - 0.5), recurrentKernel: Float32Array.from({ length: 36 }, () => rng.next() - 0.5), bias: null, activation: 'tanh', recurrentActivation: 'sigmoid' }],
      dense: [],
    };
    const network = new FusedLstmNetwork(spec);
    const x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const first = network.predict(x);
    network.predict([9, 9, 9, 9, 9, 9]);
    assert.deepEqual(network.predict(x), first);
    assert.equal(first.length, 3);
  });

  test('networks of other sizes and activations (a forecast and a volatility network) predicting in turn give what each gives alone', () => {
    const rng = createRng(11);
    const weights = (length: number): Float32Array => Float32Array.from({ length }, () => rng.next() - 0.5);
    const network = (window: number, features: number, units: number, outputs: number, recurrentActivation: 'hard_sigmoid' | 'sigmoid'): FusedLstmNetwork =>
      new FusedLstmNetwork({
        window,
        features,
        lstm: [{ inputSize: features, units, kernel: weights(features * 4 * units), recurrentKernel: weights(units * 4 * units), bias: weights(4 * units), activation: 'tanh', recurrentActivation }],
        dense: [{ inputSize: units, units: outputs, kernel: weights(units * outputs), bias: weights(outputs), activation: 'linear' }],
      });
    // The small one first, so the larger one's steps need more of the buffer the networks share.
    const small = network(20, 3, 8, 60, 'sigmoid');
    const smallInput = Array.from({ length: 60 }, () => rng.next() - 0.5);
    const alone = small.predict(smallInput);
    const large = network(30, 8, 32, 60, 'hard_sigmoid');
    const largeInputs = [0, 1].map(() => Array.from({ length: 240 }, () => rng.next() - 0.5));
    const largeAlone = largeInputs.map((x) => large.predict(x));
    for (const [n, x] of largeInputs.entries()) {
      assert.deepEqual(small.predict(smallInput), alone);
      assert.deepEqual(large.predict(x), largeAlone[n]);
    }
  });

  test('shapes that do not chain are refused when compiled, a wrong window length when predicting', () => {
    const layer = { inputSize: 2, units: 1, kernel: new Float32Array(8), recurrentKernel: new Float32Array(4), bias: null, activation: 'tanh', recurrentActivation: 'sigmoid' } as const;
    assert.throws(() => new FusedLstmNetwork({ window: 2, features: 3, lstm: [layer], dense: [] }), /takes 2 inputs, the layer before gives 3/);
    assert.throws(() => new FusedLstmNetwork({ window: 2, features: 2, lstm: [{ ...layer, kernel: new Float32Array(7) }], dense: [] }), /kernel has 7 values, expected 8/);
    assert.throws(() => new FusedLstmNetwork({ window: 2, features: 2, lstm: [], dense: [] }), /at least one LSTM/);
    assert.throws(() => new FusedLstmNetwork({ window: 2, features: 2, lstm: [layer], dense: [] }).predict([1, 2, 3]), /expected 4 inputs/);
  });
});

describe('fused pass equals tfjs', () => {
  test('property: random architectures, weights and inputs (seeded), within 1e-5, from the model and from its saved files', async () => {
    const rng = createRng(20261130);
    for (let trial = 0; trial < 24; trial += 1) {
      const window = 1 + Math.floor(rng.next() * 40);
      const features = 1 + Math.floor(rng.next() * 10);
      const layers = 1 + Math.floor(rng.next() * 3);
      const model = tf.sequential();
      for (let n = 0; n < layers; n += 1) {
        model.add(
          tf.layers.lstm({
            units: 1 + Math.floor(rng.next() * 24),
            returnSequences: n < layers - 1,
            useBias: rng.next() < 0.8,
            recurrentActivation: pick(rng, ['hardSigmoid', 'sigmoid'] as const),
            ...(n === 0 ? { inputShape: [window, features] } : {}),
          }),
        );
        if (rng.next() < 0.5) model.add(tf.layers.dropout({ rate: 0.2 }));
      }
      const denseLayers = Math.floor(rng.next() * 3);
      for (let n = 0; n < denseLayers; n += 1) {
        model.add(tf.layers.dense({ units: 1 + Math.floor(rng.next() * 60), activation: n === denseLayers - 1 ? 'linear' : pick(rng, ['relu', 'tanh', 'sigmoid', 'linear'] as const) }));
      }
      // Weights of the size training produces (Glorot-uniform limits, times a gain of 0.5–2.5, biases too):
      // far larger ones drive float32 tfjs itself past 1e-5 of the exact result over a long window.
      const gain = uniform(rng, 0.5, 2.5);
      model.setWeights(
        model.getWeights().map((w) => {
          const [fanIn, fanOut] = w.shape.length === 2 ? [w.shape[0] as number, w.shape[1] as number] : [w.size, w.size];
          const limit = gain * Math.sqrt(6 / (fanIn + fanOut));
          return tf.tensor(Float32Array.from({ length: w.size }, () => uniform(rng, -limit, limit)), w.shape);
        }),
      );
      const reading = readFusedSpecOfModel(model);
      assert.ok('spec' in reading, `trial ${trial}: ${'unsupported' in reading ? reading.unsupported : ''}`);
      const network = new FusedLstmNetwork(reading.spec);
      // What the service runs: the network read from the saved files, without a tfjs model.
      const fromFiles = await savedModelEngine(await savedForm(model), 'auto', noTfjs);
      for (let sample = 0; sample < 3; sample += 1) {
        const input = randomInput(rng, window * features, 3);
        const expected = tfjsPredict(model, input);
        const difference = maxDifference(network.predict(input), expected);
        assert.ok(difference <= TOLERANCE, `trial ${trial}: output magnitude ${Math.max(...Array.from(expected, Math.abs)).toPrecision(3)} (${layers} LSTM, ${denseLayers} dense, window ${window}): differs by ${difference}`);
        assert.ok(maxDifference(await fromFiles.run(input), expected) <= TOLERANCE, `trial ${trial}: the saved-files network differs`);
      }
      model.dispose();
    }
  });

  test('every shipped model (per-symbol and global), on random and extreme windows, within 1e-5', async () => {
    const store = new ModelStore({ modelsDir: shippedDir, scalersDir: path.join(shippedDir, 'scalers') });
    const keys = await store.keys();
    assert.ok(keys.includes('global') && keys.length >= 2, `shipped models: ${keys.join(', ')}`);
    const rng = createRng(42);
    for (const key of keys) {
      const { model, metadata } = await store.loadModel(key);
      const dir = store.versionDir(key, metadata.version);
      // The service builds the network from model.json + weights.bin as they lie in models/.
      const files: SavedModel = { modelJson: JSON.parse(await readFile(path.join(dir, MODEL_JSON), 'utf8')) as SavedModel['modelJson'], weightData: await readFile(path.join(dir, WEIGHTS_BIN)) };
      const engine = await savedModelEngine(files, 'auto', noTfjs);
      assert.equal(engine.path, 'fused', `${key} must run fused`);
      for (const spread of [0.5, 2, 6]) {
        const input = randomInput(rng, metadata.window * metadata.features.length, spread);
        const difference = maxDifference(await engine.run(input), tfjsPredict(model, input));
        assert.ok(difference <= TOLERANCE, `${key}, inputs in ±${spread}: differs by ${difference}`);
      }
      model.dispose();
    }
  });
});

describe('inference engine: fused when it can, tfjs otherwise', () => {
  test('an architecture the fused pass does not know runs on tfjs, with the reason', async () => {
    const model = tf.sequential();
    model.add(tf.layers.gru({ units: 4, inputShape: [5, 3] }));
    model.add(tf.layers.dense({ units: 2 }));
    const engine = createInferenceEngine(model);
    assert.equal(engine.path, 'tfjs');
    assert.match(engine.reason ?? '', /GRU/);
    const input = randomInput(createRng(1), 15, 1);
    assert.deepEqual(Array.from(await engine.run(input)), Array.from(tfjsPredict(model, input)));
    engine.dispose();
  });

  test('backwards LSTMs and sequence outputs into Dense are refused, not approximated', () => {
    const backwards = tf.sequential();
    backwards.add(tf.layers.lstm({ units: 2, goBackwards: true, inputShape: [3, 1] }));
    assert.match((readFusedSpecOfModel(backwards) as { unsupported?: string }).unsupported ?? '', /go_backwards/);
    const sequences = tf.sequential();
    sequences.add(tf.layers.lstm({ units: 2, returnSequences: true, inputShape: [3, 1] }));
    sequences.add(tf.layers.dense({ units: 1 }));
    assert.match((readFusedSpecOfModel(sequences) as { unsupported?: string }).unsupported ?? '', /return_sequences/);
    backwards.dispose();
    sequences.dispose();
  });

  test('fused engine gives tfjs\'s numbers, allocates no tensors, and disposing it frees the model', async () => {
    const model = tf.sequential();
    model.add(tf.layers.lstm({ units: 6, inputShape: [7, 2] }));
    model.add(tf.layers.dense({ units: 3 }));
    const input = randomInput(createRng(3), 14, 1);
    const expected = tfjsPredict(model, input);
    const engine = createInferenceEngine(model);
    assert.equal(engine.path, 'fused');
    assert.equal(engine.reason, undefined);
    const tensors = tf.memory().numTensors;
    assert.ok(maxDifference(await engine.run(input), expected) <= TOLERANCE);
    assert.equal(tf.memory().numTensors, tensors, 'no tensor is created on the fused path');
    const weights = model.getWeights().length;
    engine.dispose();
    assert.equal(tf.memory().numTensors, tensors - weights);
  });

  test('from saved files, only a model the fused pass cannot run is constructed in tfjs', async () => {
    const gru = tf.sequential();
    gru.add(tf.layers.gru({ units: 4, inputShape: [5, 3] }));
    let constructed = 0;
    const load = (): Promise<tf.LayersModel> => {
      constructed += 1;
      return Promise.resolve(gru);
    };
    const engine = await savedModelEngine(await savedForm(gru), 'auto', load);
    assert.equal(constructed, 1);
    assert.equal(engine.path, 'tfjs');
    assert.match(engine.reason ?? '', /GRU/);
    engine.dispose();

    const lstm = tf.sequential();
    lstm.add(tf.layers.lstm({ units: 2, inputShape: [3, 1] }));
    const saved = await savedForm(lstm);
    const truncated = { ...saved, weightData: saved.weightData.subarray(0, saved.weightData.length - 4) };
    // Weights that do not match their manifest are left to tfjs, which refuses them (the store says the files are corrupt).
    await assert.rejects(savedModelEngine(truncated, 'auto', () => Promise.reject(new Error('tfjs refused'))), /tfjs refused/);
    assert.equal((await savedModelEngine(saved, 'tfjs', () => Promise.resolve(lstm))).reason, 'INFERENCE=tfjs');
    lstm.dispose();
  });

  test('INFERENCE=tfjs keeps a supported model on tfjs', () => {
    const model = tf.sequential();
    model.add(tf.layers.lstm({ units: 2, inputShape: [3, 1] }));
    const engine = createInferenceEngine(model, 'tfjs');
    assert.equal(engine.path, 'tfjs');
    assert.equal(engine.reason, 'INFERENCE=tfjs');
    engine.dispose();
  });
});
