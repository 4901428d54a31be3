import * as tf from '@tensorflow/tfjs';

export interface LstmShape {
  readonly window: number;
  readonly features: number;
  readonly horizon: number;
  readonly layers: number;
  readonly units: number;
  readonly dropout: number;
  readonly seed: number;
}

/**
 * Stacked LSTM → Dense(horizon) on scaled cumulative log returns. Every initializer gets its own
 * seed derived from `seed`, so the same config builds the same starting weights.
 * Dropout is a separate layer after each LSTM (its masks are re-seeded per batch by the trainer).
 * The trainer compiles it.
 */
export function buildLstmModel(shape: LstmShape): tf.Sequential {
  if (shape.layers < 1 || shape.units < 1) throw new RangeError('an LSTM needs at least one layer of at least one unit');
  const model = tf.sequential();
  let seed = shape.seed;
  const nextSeed = (): number => (seed = (seed * 1103515245 + 12345) % 2147483647);
  for (let layer = 0; layer < shape.layers; layer += 1) {
    model.add(
      tf.layers.lstm({
        units: shape.units,
        returnSequences: layer < shape.layers - 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
        recurrentInitializer: tf.initializers.orthogonal({ seed: nextSeed(), gain: 1 }),
        ...(layer === 0 ? { inputShape: [shape.window, shape.features] } : {}),
      }),
    );
    if (shape.dropout > 0) model.add(tf.layers.dropout({ rate: shape.dropout, seed: nextSeed() }));
  }
  model.add(tf.layers.dense({ units: shape.horizon, kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }) }));
  return model;
}
