import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Tf from '@tensorflow/tfjs';

export type Tfjs = typeof Tf;
export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu'];
/** What is reported as the backend while tfjs is not loaded (every model so far runs on the fused pass). */
export const TFJS_NOT_LOADED = 'none';

/** Fastest first: native TensorFlow, then WebAssembly (about 3-5x cpu here for LSTMs), then plain JS. */
const ORDER: readonly Exclude<BackendPreference, 'auto'>[] = ['tensorflow', 'wasm', 'cpu'];

/*
 * tfjs keeps one engine per process, so its loading and backend are process-wide state here too. Importing it
 * costs 0.5-1.2 s of CPU, which a service whose models all run on the fused pass never needs to pay.
 */
let importing: Promise<Tfjs> | undefined;
let preferred: BackendPreference = 'auto';
let selecting: Promise<string> | undefined;
let selected: string | undefined;

/** The tfjs module, imported on the first call; no backend is chosen by this (see `tfjsReady`). */
export function tfjs(): Promise<Tfjs> {
  importing ??= import('@tensorflow/tfjs');
  return importing;
}

/** The backend the first later use of tfjs selects, without importing tfjs now (a service's start). */
export function preferBackend(preference: BackendPreference): void {
  preferred = preference;
}

/** tfjs with a backend selected: the one `selectBackend` chose, else the `preferBackend` one, selected now. */
export async function tfjsReady(): Promise<Tfjs> {
  selecting ??= selectBackend(preferred);
  await selecting;
  return tfjs();
}

/** The backend tfjs runs on, or `TFJS_NOT_LOADED` while nothing has needed tfjs. */
export function tfjsBackend(): string {
  return selected ?? TFJS_NOT_LOADED;
}

async function tryTensorflow(tf: Tfjs): Promise<boolean> {
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

async function tryWasm(tf: Tfjs): Promise<boolean> {
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

async function activate(tf: Tfjs, name: Exclude<BackendPreference, 'auto'>): Promise<boolean> {
  if (tf.getBackend() === name) return true;
  if (name === 'tensorflow') return tryTensorflow(tf);
  if (name === 'wasm') return tryWasm(tf);
  return tf.setBackend('cpu');
}

async function activatePreferred(preference: BackendPreference): Promise<string> {
  const tf = await tfjs();
  const start = preference === 'auto' ? 0 : ORDER.indexOf(preference);
  for (const name of ORDER.slice(start)) {
    if (await activate(tf, name)) {
      await tf.ready();
      selected = tf.getBackend();
      return selected;
    }
  }
  throw new Error('no tfjs backend could be initialised');
}

/**
 * Imports tfjs and activates the preferred backend, falling back down tensorflow → wasm → cpu when one does not
 * load, and returns the name of the backend that actually runs (callers log and record it). Process-wide; call
 * it before building models (training, tools) — a service calls `preferBackend` instead and lets `tfjsReady`
 * select on first use.
 */
export function selectBackend(preference: BackendPreference): Promise<string> {
  const selection = activatePreferred(preference);
  selecting = selection;
  return selection;
}
