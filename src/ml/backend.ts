import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Fastest first: native TensorFlow, then WebAssembly (about 3-5x cpu here for LSTMs), then plain JS. */
const ORDER: readonly Exclude<BackendPreference, 'auto'>[] = ['tensorflow', 'wasm', 'cpu'];

async function tryTensorflow(): Promise<boolean> {
  // A variable specifier keeps the optional native package out of type checking and bundling;
  // when it is not installed the import rejects and the next backend is tried.
  const nativePackage = '@tensorflow/tfjs-node';
  try {
    await import(nativePackage);
  } catch {
    return false;
  }
  return tf.setBackend('tensorflow');
}

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries must be located explicitly (they sit beside the package's dist
    // files), once, before the backend's first initialisation.
    if (tf.findBackend('wasm') === null) {
      const require = createRequire(import.meta.url);
      const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(`${dist}${path.sep}`);
    }
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

async function activate(name: Exclude<BackendPreference, 'auto'>): Promise<boolean> {
  if (tf.getBackend() === name) return true;
  if (name === 'tensorflow') return tryTensorflow();
  if (name === 'wasm') return tryWasm();
  return tf.setBackend('cpu');
}

/**
 * Activates the preferred tfjs backend, falling back down tensorflow → wasm → cpu when one does not
 * load, and returns the name of the backend that actually runs (callers log and record it).
 * tfjs keeps one engine per process, so this is process-wide; call it before building models.
 */
export async function selectBackend(preference: BackendPreference): Promise<string> {
  const start = preference === 'auto' ? 0 : ORDER.indexOf(preference);
  for (const name of ORDER.slice(start)) {
    if (await activate(name)) {
      await tf.ready();
      return tf.getBackend();
    }
  }
  throw new Error('no tfjs backend could be initialised');
}
