import type * as tf from '@tensorflow/tfjs';
import { tfjs } from '../backend.js';
import { FusedLstmNetwork } from './fused-lstm.js';
import { readFusedSpecOfModel } from './from-layers-model.js';
import { readFusedSpec } from './fused-spec.js';
import { readSavedWeights } from './saved-weights.js';

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
      // The model exists, so tfjs is loaded: this resolves at once (engine.ts itself must not load it).
      const tf = await tfjs();
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

function fusedEngine(network: FusedLstmNetwork, dispose: () => void): InferenceEngine {
  return { path: 'fused', run: (input) => Promise.resolve(network.predict(input)), dispose };
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
  const reading = readFusedSpecOfModel(model);
  if ('unsupported' in reading) return tfjsEngine(model, window, features, `not supported by the fused pass: ${reading.unsupported}`);
  return fusedEngine(new FusedLstmNetwork(reading.spec), () => model.dispose());
}

/** A saved model as its two files hold it: model.json parsed, and weights.bin's bytes. */
export interface SavedModel {
  readonly modelJson: { readonly modelTopology?: unknown; readonly weightsManifest?: unknown };
  readonly weightData: Uint8Array;
}

/**
 * The engine of a saved model, built straight from its files when the fused pass supports it: no tfjs model
 * is constructed (that costs milliseconds and tensors per model, at boot times a thousand models). Only a model
 * that needs tfjs — an unsupported layer, or INFERENCE=tfjs — is built by `loadTfjs`.
 */
export async function savedModelEngine(saved: SavedModel, preference: InferencePreference, loadTfjs: () => Promise<tf.LayersModel>): Promise<InferenceEngine> {
  if (preference === 'auto') {
    const weights = readSavedWeights(saved.modelJson.weightsManifest, saved.weightData);
    const reading = 'weights' in weights ? readFusedSpec(saved.modelJson.modelTopology, (name) => weights.weights.get(name)) : weights;
    if ('spec' in reading) return fusedEngine(new FusedLstmNetwork(reading.spec), () => undefined);
  }
  return createInferenceEngine(await loadTfjs(), preference);
}
