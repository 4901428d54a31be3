import * as tf from '@tensorflow/tfjs';
import { FusedLstmNetwork } from './fused-lstm.js';
import { readFusedSpec } from './from-layers-model.js';

/** Which code computes a model's forward pass: the fused typed-array pass, or tfjs (training's own graph). */
export type InferencePath = 'fused' | 'tfjs';

/** `auto`: fused whenever the architecture allows it; `tfjs`: always tfjs (a reference, or an escape hatch). */
export type InferencePreference = 'auto' | 'tfjs';

export interface InferenceInfo {
  readonly path: InferencePath;
  /** Why a model runs on tfjs (unsupported layer, or INFERENCE=tfjs); absent on the fused path. */
  readonly reason?: string;
}

/** The forward pass of one loaded model: a window (window × features, row-major) → the network's outputs. */
export interface InferenceEngine extends InferenceInfo {
  run(window: Float64Array): Promise<ArrayLike<number>>;
  dispose(): void;
}

function tfjsEngine(model: tf.LayersModel, window: number, features: number, reason: string): InferenceEngine {
  return {
    path: 'tfjs',
    reason,
    async run(input) {
      const x = tf.tensor3d(Float32Array.from(input), [1, window, features]);
      try {
        const output = model.predict(x) as tf.Tensor;
        try {
          return (await output.data()) as Float32Array;
        } finally {
          output.dispose();
        }
      } finally {
        x.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}

/**
 * Reads the model's weights once into a fused network; a model the fused pass does not support keeps running
 * on tfjs, with the reason recorded. The engine owns the model either way and disposes it with itself (the
 * caller may still use it until then, e.g. to compare with the training path).
 */
export function createInferenceEngine(model: tf.LayersModel, preference: InferencePreference = 'auto'): InferenceEngine {
  const shape = model.inputs[0]?.shape ?? [];
  const [window, features] = [Number(shape[1]), Number(shape[2])];
  if (preference === 'tfjs') return tfjsEngine(model, window, features, 'INFERENCE=tfjs');
  const reading = readFusedSpec(model);
  if ('unsupported' in reading) return tfjsEngine(model, window, features, `not supported by the fused pass: ${reading.unsupported}`);
  const network = new FusedLstmNetwork(reading.spec);
  return {
    path: 'fused',
    run: (input) => Promise.resolve(network.predict(input)),
    dispose: () => model.dispose(),
  };
}
