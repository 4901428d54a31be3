import * as tf from '@tensorflow/tfjs';
import { realisedVariances } from '../evaluation/volatility.js';
import { createRng, shuffledIndices } from '../random.js';
import { loadVolatilityHead, type SavedVolatilityHead, type VolatilityHead } from './head.js';
import { HEAD_FEATURES, headInput, headTargets, longRunVariance } from './inputs.js';

/**
 * Hyper-parameters fixed a priori (never tuned on any split): a 20-day window (a month of trading,
 * the EWMA input carries the longer memory), 8 units (the head has 3 inputs and must stay negligible
 * to serve), a fixed number of epochs with no early stopping, so validation is used only to compare
 * the trained head with EWMA and GARCH.
 */
export const HEAD_WINDOW = 20;
export const HEAD_UNITS = 8;
export const HEAD_MAX_EPOCHS = 15;
const HEAD_BATCH = 256;
/**
 * At most this many training days (evenly spaced) train the head: about one symbol's history. A
 * global model's several symbols would otherwise multiply its training time, and neighbouring days'
 * 60-day targets overlap so much that the extra days add little evidence.
 */
export const HEAD_MAX_DAYS = 4000;
const HEAD_LEARNING_RATE = 0.01;

/** One training day: the returns up to it and its realised cumulative log returns for steps 1..horizon. */
export interface HeadTrainingDay {
  readonly returns: readonly number[];
  readonly actual: readonly number[];
}

export interface TrainedVolatilityHead {
  readonly saved: SavedVolatilityHead;
  /** The head on the fused pass, built from `saved`: what evaluation scores is what serving runs. */
  readonly head: VolatilityHead;
  readonly seconds: number;
  readonly epochs: number;
  readonly days: number;
}

/** QLIKE per cell up to a constant: o + y·exp(−o) for a forecast h·L·exp(o) of a realised variance y·h·L. */
function qlikeLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.mean(tf.add(yPred, tf.mul(yTrue, tf.exp(tf.neg(yPred)))));
}

function buildHead(horizon: number, seed: number): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.lstm({
      units: HEAD_UNITS,
      inputShape: [HEAD_WINDOW, HEAD_FEATURES],
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1, gain: 1 }),
    }),
  );
  // Zero-initialised output: the untrained head forecasts the long-run variance at every step.
  model.add(tf.layers.dense({ units: horizon, kernelInitializer: 'zeros' }));
  return model;
}

/** The model's topology and float32 weights in the model.json / weights.bin layout readSavedWeights reads. */
function savedOf(model: tf.LayersModel): SavedVolatilityHead {
  const values = model.weights.map((w) => w.read().dataSync() as Float32Array);
  const weightData = new Uint8Array(values.reduce((n, v) => n + v.byteLength, 0));
  let offset = 0;
  for (const v of values) {
    weightData.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), offset);
    offset += v.byteLength;
  }
  return {
    modelJson: {
      modelTopology: model.toJSON(null, false),
      weightsManifest: [{ paths: ['volatility_head.bin'], weights: model.weights.map((w) => ({ name: w.originalName, shape: w.shape, dtype: 'float32' })) }],
    },
    weightData,
  };
}

/**
 * Trains the volatility head on training-split days only (those whose every step has matured, at
 * most HEAD_MAX_DAYS of them), with a seeded sample order, and returns it saved and loaded on the fused pass.
 */
export async function trainVolatilityHead(days: readonly HeadTrainingDay[], horizon: number, seed: number, maxEpochs: number): Promise<TrainedVolatilityHead> {
  const started = performance.now();
  const complete = days.filter((d) => d.actual.length === horizon && d.actual.every(Number.isFinite) && d.returns.length > 0);
  const stride = Math.ceil(complete.length / HEAD_MAX_DAYS);
  const usable = complete.filter((_, i) => i % stride === 0);
  if (usable.length === 0) throw new RangeError('no training days with every step realised to train the volatility head on');
  const inputs = new Float32Array(usable.length * HEAD_WINDOW * HEAD_FEATURES);
  const targets = new Float32Array(usable.length * horizon);
  usable.forEach((d, i) => {
    const longRun = longRunVariance(d.returns);
    inputs.set(headInput(d.returns, HEAD_WINDOW, longRun), i * HEAD_WINDOW * HEAD_FEATURES);
    targets.set(headTargets(realisedVariances(d.actual), longRun), i * horizon);
  });
  const epochs = Math.min(HEAD_MAX_EPOCHS, maxEpochs);
  const model = buildHead(horizon, seed);
  const optimizer = tf.train.adam(HEAD_LEARNING_RATE);
  const x = tf.tensor3d(inputs, [usable.length, HEAD_WINDOW, HEAD_FEATURES]);
  const y = tf.tensor2d(targets, [usable.length, horizon]);
  try {
    model.compile({ optimizer, loss: qlikeLoss });
    const rng = createRng(seed);
    for (let epoch = 0; epoch < epochs; epoch += 1) {
      const order = tf.tensor1d(shuffledIndices(usable.length, rng), 'int32');
      const [xs, ys] = [tf.gather(x, order), tf.gather(y, order)];
      await model.fit(xs, ys, { epochs: 1, batchSize: HEAD_BATCH, shuffle: false, verbose: 0 });
      tf.dispose([order, xs, ys]);
    }
    const saved = savedOf(model);
    return { saved, head: loadVolatilityHead(saved), seconds: (performance.now() - started) / 1000, epochs, days: usable.length };
  } finally {
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
  }
}
