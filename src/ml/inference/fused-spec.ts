import type { ActivationName, DenseLayerWeights, FusedNetworkSpec, LstmLayerWeights } from './fused-lstm.js';

/** The fused spec of a saved network, or why the fused pass cannot run it (it then stays on tfjs). */
export type FusedReading = { readonly spec: FusedNetworkSpec } | { readonly unsupported: string };

/** A weight's float32 values by its saved name (`<layer name>/kernel`, ...); undefined when absent. */
export type WeightLookup = (name: string) => Float32Array | undefined;

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

/** One entry of a Keras/tfjs topology's `layers`: `{ class_name, config }` with snake_case config keys. */
interface LayerJson {
  readonly className: string;
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
}

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> => typeof value === 'object' && value !== null && !Array.isArray(value);

function layerOf(value: unknown, n: number): LayerJson {
  if (!isRecord(value) || typeof value['class_name'] !== 'string' || !isRecord(value['config'])) throw new Unsupported(`layer ${n} is not a { class_name, config } entry`);
  const config = value['config'];
  return { className: value['class_name'], name: typeof config['name'] === 'string' ? config['name'] : `layer ${n}`, config };
}

function activation(layer: LayerJson, key: string): ActivationName {
  const value = layer.config[key];
  const name = typeof value === 'string' ? ACTIVATION_NAMES[value] : undefined;
  if (name === undefined) throw new Unsupported(`${layer.name}: ${key} ${JSON.stringify(value)}`);
  return name;
}

function weight(layer: LayerJson, weights: WeightLookup, name: string, length: number): Float32Array {
  const values = weights(`${layer.name}/${name}`);
  if (values === undefined) throw new Unsupported(`${layer.name}: no saved weight ${layer.name}/${name}`);
  if (values.length !== length) throw new Unsupported(`${layer.name}/${name}: ${values.length} values, expected ${length}`);
  return values;
}

const units = (layer: LayerJson): number => {
  const value = layer.config['units'];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Unsupported(`${layer.name}: units ${JSON.stringify(value)}`);
  return value;
};

function lstmLayer(layer: LayerJson, weights: WeightLookup, inputSize: number, last: boolean): LstmLayerWeights {
  for (const flag of ['go_backwards', 'stateful', 'return_state'] as const) {
    if (layer.config[flag] === true) throw new Unsupported(`${layer.name}: ${flag}`);
  }
  if (layer.config['return_sequences'] !== !last) {
    throw new Unsupported(`${layer.name}: return_sequences ${String(layer.config['return_sequences'])} (only the last LSTM may return its final state alone)`);
  }
  const size = units(layer);
  return {
    inputSize,
    units: size,
    kernel: weight(layer, weights, 'kernel', inputSize * 4 * size),
    recurrentKernel: weight(layer, weights, 'recurrent_kernel', size * 4 * size),
    bias: layer.config['use_bias'] === false ? null : weight(layer, weights, 'bias', 4 * size),
    activation: activation(layer, 'activation'),
    recurrentActivation: activation(layer, 'recurrent_activation'),
  };
}

function denseLayer(layer: LayerJson, weights: WeightLookup, inputSize: number): DenseLayerWeights {
  const size = units(layer);
  return {
    inputSize,
    units: size,
    kernel: weight(layer, weights, 'kernel', inputSize * size),
    bias: layer.config['use_bias'] === false ? null : weight(layer, weights, 'bias', size),
    activation: activation(layer, 'activation'),
  };
}

/** [window, features] from the first layer's (or the InputLayer's) `batch_input_shape`. */
function inputShape(layers: readonly LayerJson[]): [number, number] {
  const shape = layers[0]?.config['batch_input_shape'];
  if (!Array.isArray(shape) || shape.length !== 3 || typeof shape[1] !== 'number' || typeof shape[2] !== 'number') {
    throw new Unsupported(`input shape ${JSON.stringify(shape)} (expected [batch, window, features])`);
  }
  return [shape[1], shape[2]];
}

/**
 * Reads a saved Sequential topology (model.json's `modelTopology`, as tfjs and Keras write it) of LSTM layers
 * (with Dropout between them, an identity at inference) followed by Dense layers, and its weights, into a fused
 * spec. Anything else — another layer type, a functional graph, backwards or stateful LSTMs, an unknown
 * activation, a missing weight — is reported as unsupported, never approximated.
 */
export function readFusedSpec(topology: unknown, weights: WeightLookup): FusedReading {
  try {
    if (!isRecord(topology)) throw new Unsupported('no model topology');
    if (topology['class_name'] !== 'Sequential') throw new Unsupported(`a ${String(topology['class_name'])} model (only Sequential)`);
    const config = topology['config'];
    // Keras 2.2 wrote a Sequential's config as the bare list of layers; later versions as { name, layers }.
    const list: unknown = Array.isArray(config) ? config : isRecord(config) ? config['layers'] : undefined;
    if (!Array.isArray(list)) throw new Unsupported('a Sequential without a list of layers');
    const all = list.map(layerOf);
    const [window, features] = inputShape(all);
    const layers = all.filter((l) => l.className !== 'InputLayer' && l.className !== 'Dropout');
    const lstmCount = layers.findIndex((l) => l.className !== 'LSTM');
    const lstmLayers = lstmCount < 0 ? layers : layers.slice(0, lstmCount);
    const first = layers[0];
    if (lstmLayers.length === 0) throw new Unsupported(first ? `layer ${first.name} of type ${first.className} (the network must start with LSTM layers)` : 'no layers');
    const lstm: LstmLayerWeights[] = [];
    let size = features;
    lstmLayers.forEach((layer, n) => {
      const read = lstmLayer(layer, weights, size, n === lstmLayers.length - 1);
      lstm.push(read);
      size = read.units;
    });
    const dense: DenseLayerWeights[] = [];
    for (const layer of lstmCount < 0 ? [] : layers.slice(lstmCount)) {
      if (layer.className !== 'Dense') throw new Unsupported(`layer ${layer.name} of type ${layer.className}`);
      const read = denseLayer(layer, weights, size);
      dense.push(read);
      size = read.units;
    }
    return { spec: { window, features, lstm, dense } };
  } catch (error) {
    if (error instanceof Unsupported) return { unsupported: error.message };
    throw error;
  }
}
