import type * as tf from '@tensorflow/tfjs';
import type { ActivationName, DenseLayerWeights, FusedNetworkSpec, LstmLayerWeights } from './fused-lstm.js';

/** The fused spec of a loaded model, or why the fused pass cannot run it (it then stays on tfjs). */
export type FusedReading = { readonly spec: FusedNetworkSpec } | { readonly unsupported: string };

/** tfjs serializes activations by class name (hardSigmoid), Keras files by function name (hard_sigmoid). */
const ACTIVATION_NAMES: Readonly<Record<string, ActivationName>> = {
  tanh: 'tanh',
  hardSigmoid: 'hard_sigmoid',
  hard_sigmoid: 'hard_sigmoid',
  sigmoid: 'sigmoid',
  linear: 'linear',
  relu: 'relu',
};

class Unsupported extends Error {}

function activation(layer: tf.layers.Layer, value: unknown): ActivationName {
  const name = typeof value === 'string' ? ACTIVATION_NAMES[value] : undefined;
  if (name === undefined) throw new Unsupported(`${layer.name}: activation ${JSON.stringify(value)}`);
  return name;
}

/** A copy of each weight's values, read once (the model may be disposed afterwards). */
function weights(layer: tf.layers.Layer): Float32Array[] {
  return layer.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
}

function lstmLayer(layer: tf.layers.Layer, inputSize: number, last: boolean): LstmLayerWeights {
  const config = layer.getConfig();
  for (const flag of ['goBackwards', 'stateful', 'returnState'] as const) {
    if (config[flag] === true) throw new Unsupported(`${layer.name}: ${flag}`);
  }
  if (config['returnSequences'] !== !last) {
    throw new Unsupported(`${layer.name}: returnSequences ${String(config['returnSequences'])} (only the last LSTM may return its final state alone)`);
  }
  const units = Number(config['units']);
  const [kernel, recurrentKernel, bias] = weights(layer);
  if (!kernel || !recurrentKernel) throw new Unsupported(`${layer.name}: missing kernels`);
  return {
    inputSize,
    units,
    kernel,
    recurrentKernel,
    bias: config['useBias'] === false ? null : (bias ?? null),
    activation: activation(layer, config['activation']),
    recurrentActivation: activation(layer, config['recurrentActivation']),
  };
}

function denseLayer(layer: tf.layers.Layer, inputSize: number): DenseLayerWeights {
  const config = layer.getConfig();
  const [kernel, bias] = weights(layer);
  if (!kernel) throw new Unsupported(`${layer.name}: missing kernel`);
  return {
    inputSize,
    units: Number(config['units']),
    kernel,
    bias: config['useBias'] === false ? null : (bias ?? null),
    activation: activation(layer, config['activation']),
  };
}

/**
 * Reads a Sequential of LSTM layers (with Dropout between them, an identity at inference) followed by Dense
 * layers into a fused spec. Anything else — another layer type, a functional graph, backwards or stateful
 * LSTMs, an unknown activation — is reported as unsupported, never approximated.
 */
export function readFusedSpec(model: tf.LayersModel): FusedReading {
  try {
    if (model.getClassName() !== 'Sequential') throw new Unsupported(`a ${model.getClassName()} model (only Sequential)`);
    const shape = model.inputs[0]?.shape;
    if (model.inputs.length !== 1 || shape?.length !== 3 || typeof shape[1] !== 'number' || typeof shape[2] !== 'number') {
      throw new Unsupported(`input shape ${JSON.stringify(shape)} (expected [batch, window, features])`);
    }
    const [window, features] = [shape[1], shape[2]];
    const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer' && l.getClassName() !== 'Dropout');
    const lstmCount = layers.findIndex((l) => l.getClassName() !== 'LSTM');
    const lstmLayers = lstmCount < 0 ? layers : layers.slice(0, lstmCount);
    const rest = lstmCount < 0 ? [] : layers.slice(lstmCount);
    const lstm: LstmLayerWeights[] = [];
    let size = features;
    lstmLayers.forEach((layer, n) => {
      const read = lstmLayer(layer, size, n === lstmLayers.length - 1);
      lstm.push(read);
      size = read.units;
    });
    const first = layers[0];
    if (lstm.length === 0) throw new Unsupported(first ? `layer ${first.name} of type ${first.getClassName()} (the network must start with LSTM layers)` : 'no layers');
    const dense: DenseLayerWeights[] = [];
    for (const layer of rest) {
      if (layer.getClassName() !== 'Dense') throw new Unsupported(`layer ${layer.name} of type ${layer.getClassName()}`);
      const read = denseLayer(layer, size);
      dense.push(read);
      size = read.units;
    }
    return { spec: { window, features, lstm, dense } };
  } catch (error) {
    if (error instanceof Unsupported) return { unsupported: error.message };
    throw error;
  }
}
