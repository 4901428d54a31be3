import * as tf from '@tensorflow/tfjs';
import { LegacyFileError } from '../errors.js';
import { KerasGru, type GruActivation } from '../ml/imported/keras-gru.js';
import type { KerasModelSpec, LayerSpec } from './keras-config.js';

/**
 * The expected weights of each layer, derived from the config alone (so a file's datasets can be
 * checked against them before any is read), and the tfjs network built from the same layer list.
 */

export interface ExpectedWeight {
  /** Keras's own weight name (the last part of its path, without `:0`). */
  readonly name: string;
  readonly shape: readonly number[];
}

/** Above this many parameters a "stock LSTM" is something else; refused before reading. */
export const MAX_PARAMETERS = 50_000_000;

/** Weights per layer, in Keras (and tfjs) order, with the network's output width; throws on an impossible stack. */
export function expectedWeights(file: string, spec: KerasModelSpec): { weights: ExpectedWeight[][]; outputShape: number[] } {
  let shape = [spec.window, spec.features];
  let total = 0;
  const weights = spec.layers.map((layer) => {
    const dim = shape[shape.length - 1] as number;
    const list = layerWeights(layer, dim);
    // shape excludes the batch axis, so the last axis of the full tensor has index shape.length.
    if (layer.kind === 'BatchNormalization' && layer.axis !== -1 && layer.axis !== shape.length) {
      throw new LegacyFileError(`${file}: layer ${layer.name}: BatchNormalization over axis ${layer.axis} is not supported (only the last axis)`, { file });
    }
    if ((layer.kind === 'LSTM' || layer.kind === 'GRU') && shape.length !== 2) {
      throw new LegacyFileError(`${file}: layer ${layer.name} (${layer.kind}) needs a sequence input; the layer before it returns a single vector (return_sequences=false)`, { file });
    }
    if (layer.kind === 'LSTM' || layer.kind === 'GRU') shape = layer.returnSequences ? [spec.window, layer.units] : [layer.units];
    else if (layer.kind === 'Dense') shape = [...shape.slice(0, -1), layer.units];
    total += list.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
    return list;
  });
  if (total > MAX_PARAMETERS) throw new LegacyFileError(`${file}: ${total} parameters is more than the ${MAX_PARAMETERS} an imported model may have`, { file });
  if (shape.length !== 1 || shape[0] !== 1) {
    throw new LegacyFileError(`${file}: the model's output per sample has shape [${shape.join(', ')}]; only a single next-day value ([1]) is imported`, { file });
  }
  return { weights, outputShape: shape };
}

function layerWeights(layer: LayerSpec, dim: number): ExpectedWeight[] {
  switch (layer.kind) {
    case 'LSTM':
    case 'GRU': {
      const gates = layer.kind === 'LSTM' ? 4 : 3;
      const u = layer.units;
      const bias = layer.kind === 'GRU' && layer.resetAfter ? [2, gates * u] : [gates * u];
      return [
        { name: 'kernel', shape: [dim, gates * u] },
        { name: 'recurrent_kernel', shape: [u, gates * u] },
        ...(layer.useBias ? [{ name: 'bias', shape: bias }] : []),
      ];
    }
    case 'Dense':
      return [{ name: 'kernel', shape: [dim, layer.units] }, ...(layer.useBias ? [{ name: 'bias', shape: [layer.units] }] : [])];
    case 'BatchNormalization':
      return [
        ...(layer.scale ? [{ name: 'gamma', shape: [dim] }] : []),
        ...(layer.center ? [{ name: 'beta', shape: [dim] }] : []),
        { name: 'moving_mean', shape: [dim] },
        { name: 'moving_variance', shape: [dim] },
      ];
    case 'Dropout':
      return [];
  }
}

const TFJS_ACTIVATION: Readonly<Record<GruActivation, 'tanh' | 'sigmoid' | 'relu' | 'linear' | 'hardSigmoid'>> = {
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  relu: 'relu',
  linear: 'linear',
  hard_sigmoid: 'hardSigmoid',
};

function tfjsLayer(layer: LayerSpec, first: { batchInputShape: [null, number, number] } | Record<string, never>): tf.layers.Layer {
  switch (layer.kind) {
    case 'LSTM':
      return tf.layers.lstm({
        ...first,
        units: layer.units,
        activation: TFJS_ACTIVATION[layer.activation],
        recurrentActivation: TFJS_ACTIVATION[layer.recurrentActivation],
        useBias: layer.useBias,
        returnSequences: layer.returnSequences,
        kernelInitializer: 'zeros',
        recurrentInitializer: 'zeros',
      });
    case 'GRU':
      return new KerasGru({ ...first, units: layer.units, activation: layer.activation, recurrentActivation: layer.recurrentActivation, useBias: layer.useBias, resetAfter: layer.resetAfter, returnSequences: layer.returnSequences });
    case 'Dense':
      return tf.layers.dense({ ...first, units: layer.units, activation: TFJS_ACTIVATION[layer.activation], useBias: layer.useBias, kernelInitializer: 'zeros' });
    case 'Dropout':
      // Inactive at inference; kept so the rebuilt network lists the same layers as the file.
      return tf.layers.dropout({ ...first, rate: Math.min(Math.max(layer.rate, 0), 0.99) });
    case 'BatchNormalization':
      return tf.layers.batchNormalization({ ...first, axis: -1, epsilon: layer.epsilon, center: layer.center, scale: layer.scale });
  }
}

/** The tfjs network of `spec` with `weights` (per layer, in expectedWeights order) loaded. */
export function buildNetwork(spec: KerasModelSpec, weights: readonly (readonly Float32Array[])[], expected: readonly (readonly ExpectedWeight[])[]): tf.Sequential {
  const model = tf.sequential();
  try {
    spec.layers.forEach((layer, i) => {
      model.add(tfjsLayer(layer, i === 0 ? { batchInputShape: [null, spec.window, spec.features] } : {}));
    });
    spec.layers.forEach((_, i) => {
      const values = weights[i] ?? [];
      if (values.length === 0) return;
      const tensors = values.map((v, k) => tf.tensor(v, [...((expected[i] as readonly ExpectedWeight[])[k] as ExpectedWeight).shape]));
      try {
        (model.layers[i] as tf.layers.Layer).setWeights(tensors);
      } finally {
        tf.dispose(tensors);
      }
    });
    return model;
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** One line per layer for the model card, e.g. "LSTM(50, tanh, return_sequences)". */
export function describeLayers(spec: KerasModelSpec): string[] {
  return spec.layers.map((layer) => {
    switch (layer.kind) {
      case 'LSTM':
      case 'GRU':
        return `${layer.kind}(${layer.units}, ${layer.activation}${layer.returnSequences ? ', return_sequences' : ''}${layer.kind === 'GRU' ? `, reset_after=${layer.resetAfter}` : ''})`;
      case 'Dense':
        return `Dense(${layer.units}, ${layer.activation})`;
      case 'Dropout':
        return `Dropout(${layer.rate})`;
      case 'BatchNormalization':
        return `BatchNormalization(epsilon=${layer.epsilon})`;
    }
  });
}
