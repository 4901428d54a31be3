import * as tf from '@tensorflow/tfjs';
import { inputTensor, targetTensor, type Dataset, type Sample } from '../dataset.js';
import { createRng, shuffledIndices, type Rng } from '../random.js';
import type { ScalerState } from '../scaler.js';
import { unscaleTargets } from '../scaler.js';
import type { TrainingConfig } from '../types.js';

export interface EpochReport {
  readonly epoch: number;
  readonly loss: number;
  readonly val_loss: number;
  readonly seconds: number;
}

export interface FitResult {
  readonly epochsRun: number;
  /** 1-based epoch whose weights were restored. */
  readonly bestEpoch: number;
  readonly bestValLoss: number;
  readonly seconds: number;
  /** Training samples pushed through forward + backward passes per second (validation passes excluded). */
  readonly samplesPerSecond: number;
  readonly history: readonly EpochReport[];
}

/**
 * tfjs Dropout layers draw the same mask on every call when given a fixed seed, so the trainer
 * hands them a fresh seed from the run's generator before each batch: masks vary per batch and the
 * whole run stays reproducible. (The seed is only read in the training phase.)
 */
function reseedDropout(model: tf.LayersModel, rng: Rng): void {
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Dropout') Reflect.set(layer, 'seed', rng.nextInt());
  }
}

/**
 * Trains on the training split with a seeded sample order, evaluates the validation loss after each
 * epoch, stops after `patience` epochs without improvement and restores the best epoch's weights
 * (tfjs has no restoreBestWeights, so they are snapshotted here).
 */
export async function fitNetwork(
  model: tf.LayersModel,
  dataset: Dataset,
  scaler: ScalerState,
  config: TrainingConfig,
  onEpoch?: (report: EpochReport) => void,
): Promise<FitResult> {
  const rng = createRng(config.seed);
  // The optimizer is created here and disposed when training ends: a model compiled with an
  // optimizer instance does not own it, so model.dispose() would leave Adam's moment tensors behind.
  const optimizer = tf.train.adam(config.learningRate);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const xTrain = inputTensor(dataset.train, dataset.window, scaler);
  const yTrain = targetTensor(dataset.train, scaler);
  const xVal = inputTensor(dataset.validation, dataset.window, scaler);
  const yVal = targetTensor(dataset.validation, scaler);
  const history: EpochReport[] = [];
  let best: { epoch: number; loss: number; weights: tf.Tensor[] } | undefined;
  let fitSeconds = 0;
  const started = performance.now();
  try {
    for (let epoch = 1; epoch <= config.epochs; epoch += 1) {
      const epochStart = performance.now();
      const order = tf.tensor1d(shuffledIndices(dataset.train.length, rng), 'int32');
      const xs = tf.gather(xTrain, order);
      const ys = tf.gather(yTrain, order);
      const fitStart = performance.now();
      const result = await model.fit(xs, ys, {
        epochs: 1,
        batchSize: config.batchSize,
        shuffle: false,
        verbose: 0,
        callbacks: { onBatchBegin: async () => reseedDropout(model, rng) },
      });
      fitSeconds += (performance.now() - fitStart) / 1000;
      tf.dispose([order, xs, ys]);
      const loss = Number(result.history['loss']?.[0]);
      const valLoss = tf.tidy(() => (model.evaluate(xVal, yVal, { batchSize: 512 }) as tf.Scalar).dataSync()[0] as number);
      history.push({ epoch, loss, val_loss: valLoss, seconds: (performance.now() - epochStart) / 1000 });
      if (best === undefined || valLoss < best.loss) {
        if (best !== undefined) tf.dispose(best.weights);
        best = { epoch, loss: valLoss, weights: model.getWeights().map((w) => w.clone()) };
      }
      onEpoch?.(history[history.length - 1] as EpochReport);
      if (!Number.isFinite(loss) || epoch - best.epoch >= config.patience) break;
    }
    if (best === undefined || !Number.isFinite(best.loss)) {
      throw new Error(`training diverged: validation loss ${best?.loss ?? 'missing'} (try a lower learning rate)`);
    }
    model.setWeights(best.weights);
    return {
      epochsRun: history.length,
      bestEpoch: best.epoch,
      bestValLoss: best.loss,
      seconds: (performance.now() - started) / 1000,
      samplesPerSecond: (dataset.train.length * history.length) / Math.max(fitSeconds, 1e-9),
      history,
    };
  } finally {
    tf.dispose([xTrain, yTrain, xVal, yVal]);
    if (best !== undefined) tf.dispose(best.weights);
    optimizer.dispose();
  }
}

/** Unscaled predicted cumulative log returns (steps 1..horizon) for each sample. */
export function predictSamples(model: tf.LayersModel, samples: readonly Sample[], window: number, scaler: ScalerState): number[][] {
  if (samples.length === 0) return [];
  const scaled = tf.tidy(() => {
    const x = inputTensor(samples, window, scaler);
    return (model.predict(x, { batchSize: 512 }) as tf.Tensor2D).arraySync();
  });
  return scaled.map((row) => unscaleTargets(scaler, row));
}
