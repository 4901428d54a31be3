import type * as tf from '@tensorflow/tfjs';
import { readFusedSpec, type FusedReading } from './fused-spec.js';

/**
 * The fused spec of a model in memory, read through the same topology and weight names `model.save` writes
 * (so a trained model and its saved files give one spec). Weight values are copied: the model may be disposed.
 */
export function readFusedSpecOfModel(model: tf.LayersModel): FusedReading {
  const weights = new Map(model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync() as Float32Array)]));
  return readFusedSpec(model.toJSON(null, false), (name) => weights.get(name));
}
