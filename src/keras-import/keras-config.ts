import { LegacyFileError } from '../errors.js';
import { GRU_ACTIVATIONS, type GruActivation } from '../ml/imported/keras-gru.js';

/**
 * Keras `model_config` JSON (a Sequential model, as Keras 2 and Keras 3 write it into an HDF5
 * file) reduced to the layers the importer rebuilds. Every option that changes what the network
 * computes at inference is either mapped or refused by name; options that only matter for
 * training (initializers, regularizers, dropout rates, constraints) are ignored.
 */

export type Activation = GruActivation;

export type LayerSpec =
  | { readonly kind: 'LSTM'; readonly name: string; readonly units: number; readonly activation: Activation; readonly recurrentActivation: Activation; readonly useBias: boolean; readonly returnSequences: boolean }
  | { readonly kind: 'GRU'; readonly name: string; readonly units: number; readonly activation: Activation; readonly recurrentActivation: Activation; readonly useBias: boolean; readonly returnSequences: boolean; readonly resetAfter: boolean }
  | { readonly kind: 'Dense'; readonly name: string; readonly units: number; readonly activation: Activation; readonly useBias: boolean }
  | { readonly kind: 'Dropout'; readonly name: string; readonly rate: number }
  | { readonly kind: 'BatchNormalization'; readonly name: string; readonly axis: number; readonly epsilon: number; readonly center: boolean; readonly scale: boolean };

export interface KerasModelSpec {
  /** [window, features] of one input sample. */
  readonly window: number;
  readonly features: number;
  readonly layers: readonly LayerSpec[];
}

/** Upper bounds that keep a hostile config from allocating gigabytes. */
export const LIMITS = { window: 5000, features: 1000, units: 4096, layers: 64 } as const;

type Json = Record<string, unknown>;

function refuse(file: string, message: string): never {
  throw new LegacyFileError(`${file}: ${message}`, { file });
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(file: string, layer: string, name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) refuse(file, `layer ${layer}: ${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function activation(file: string, layer: string, name: string, v: unknown, keras3: boolean): Activation {
  const value = v === undefined || v === null ? 'linear' : v;
  if (typeof value !== 'string' || !(GRU_ACTIVATIONS as readonly string[]).includes(value)) {
    refuse(file, `layer ${layer}: ${name} ${JSON.stringify(value)} is not supported (supported: ${GRU_ACTIVATIONS.join(', ')})`);
  }
  // Keras 3 redefined hard_sigmoid (relu6(x + 3) / 6); only Keras 2's clip(0.2x + 0.5) is rebuilt.
  if (value === 'hard_sigmoid' && keras3) refuse(file, `layer ${layer}: Keras 3's hard_sigmoid ${name} is not supported`);
  return value as Activation;
}

/** Options that change inference and are supported only at these values. */
function requireDefaults(file: string, layer: string, config: Json, defaults: Record<string, unknown>): void {
  for (const [key, expected] of Object.entries(defaults)) {
    const value = config[key];
    if (value !== undefined && value !== null && JSON.stringify(value) !== JSON.stringify(expected)) {
      refuse(file, `layer ${layer}: ${key}=${JSON.stringify(value)} is not supported (only ${JSON.stringify(expected)})`);
    }
  }
}

/** [null, window, features] from batch_input_shape (Keras 2), batch_shape (Keras 3) or a build config. */
function inputShapeOf(config: Json): unknown {
  const build = isObject(config.build_config) ? config.build_config.input_shape : undefined;
  return config.batch_input_shape ?? config.batch_shape ?? build;
}

export function parseModelConfig(file: string, json: string, kerasVersion: string): KerasModelSpec {
  let root: unknown;
  try {
    root = JSON.parse(json);
  } catch {
    refuse(file, 'model_config is not valid JSON');
  }
  if (!isObject(root)) refuse(file, 'model_config is not a JSON object');
  if (root.class_name !== 'Sequential') refuse(file, `the model is a ${JSON.stringify(root.class_name)}, only Sequential models are imported`);
  const keras3 = kerasVersion.startsWith('3');
  const config = root.config;
  // Keras 2.0–2.2 stored the layer list directly as the config.
  const rawLayers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers)) refuse(file, 'model_config has no layer list');
  let shape: unknown = isObject(config) ? config.build_input_shape : undefined;
  const layers: LayerSpec[] = [];
  for (const raw of rawLayers) {
    if (!isObject(raw) || typeof raw.class_name !== 'string' || !isObject(raw.config)) refuse(file, 'model_config has a malformed layer');
    const c = raw.config;
    const name = typeof c.name === 'string' ? c.name : `#${layers.length + 1}`;
    shape = shape ?? inputShapeOf(c);
    switch (raw.class_name) {
      case 'InputLayer':
        requireDefaults(file, name, c, { sparse: false, ragged: false });
        break;
      case 'LSTM':
      case 'GRU': {
        requireDefaults(file, name, c, { stateful: false, go_backwards: false, return_state: false, time_major: false });
        const common = {
          name,
          units: int(file, name, 'units', c.units, LIMITS.units),
          activation: activation(file, name, 'activation', c.activation ?? 'tanh', keras3),
          recurrentActivation: activation(file, name, 'recurrent_activation', c.recurrent_activation ?? 'sigmoid', keras3),
          useBias: c.use_bias !== false,
          returnSequences: c.return_sequences === true,
        };
        layers.push(raw.class_name === 'LSTM' ? { kind: 'LSTM', ...common } : { kind: 'GRU', ...common, resetAfter: c.reset_after !== false });
        break;
      }
      case 'Dense':
        layers.push({ kind: 'Dense', name, units: int(file, name, 'units', c.units, LIMITS.units), activation: activation(file, name, 'activation', c.activation, keras3), useBias: c.use_bias !== false });
        break;
      case 'Dropout':
        requireDefaults(file, name, c, { noise_shape: null });
        layers.push({ kind: 'Dropout', name, rate: typeof c.rate === 'number' ? c.rate : 0 });
        break;
      case 'BatchNormalization': {
        const axis = Array.isArray(c.axis) && c.axis.length === 1 ? c.axis[0] : (c.axis ?? -1);
        // Keras 2 stores the resolved index (e.g. [2] for a sequence); network.ts checks it is the last axis.
        if (typeof axis !== 'number' || !Number.isInteger(axis)) refuse(file, `layer ${name}: BatchNormalization axis ${JSON.stringify(c.axis)} is not a single axis`);
        requireDefaults(file, name, c, { renorm: false, synchronized: false });
        const epsilon = typeof c.epsilon === 'number' && c.epsilon > 0 ? c.epsilon : 0.001;
        layers.push({ kind: 'BatchNormalization', name, axis: axis as number, epsilon, center: c.center !== false, scale: c.scale !== false });
        break;
      }
      default:
        refuse(file, `layer ${name} is a ${raw.class_name}, which the importer cannot rebuild (supported: LSTM, GRU, Dense, Dropout, BatchNormalization)`);
    }
  }
  if (layers.length === 0 || layers.length > LIMITS.layers) refuse(file, `the model has ${layers.length} layers (1 to ${LIMITS.layers} are imported)`);
  if (!Array.isArray(shape) || shape.length !== 3) {
    refuse(file, `the model's input shape ${JSON.stringify(shape)} is not [batch, window, features] (a sequence model over a window of days)`);
  }
  return {
    window: int(file, 'input', 'window (input time steps)', shape[1], LIMITS.window),
    features: int(file, 'input', 'features per time step', shape[2], LIMITS.features),
    layers,
  };
}
