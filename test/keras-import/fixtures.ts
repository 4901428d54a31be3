import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../../src/config/package-root.js';
import { sampleDir } from '../helpers/paths.js';
import { parseBarsCsv } from '../../src/market/csv.js';
import type { Bar } from '../../src/market/bar.js';

/** Debian's Python, which has h5py, numpy, scikit-learn and joblib (scripts/install-test-deps.sh installs them). */
export const PYTHON = '/usr/bin/python3';
const here = path.join(packageRoot, 'test', 'keras-import');

export function python(script: string, input: unknown): string {
  const run = spawnSync(PYTHON, [path.join(here, script)], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`${script} failed: ${run.stderr}`);
  return run.stdout;
}

/** Real NVDA bars shipped with the repository (data/sample). */
export async function sampleBars(symbol = 'NVDA'): Promise<Bar[]> {
  const file = path.join(sampleDir, `${symbol}.csv`);
  return parseBarsCsv(await readFile(file, 'utf8'), file);
}

/** A historical/ folder holding the sample CSV, for the CSV market-data provider. */
export async function historicalDir(root: string, symbol = 'NVDA'): Promise<string> {
  const dir = path.join(root, 'stock_data', 'historical');
  await mkdir(dir, { recursive: true });
  await copyFile(path.join(sampleDir, `${symbol}.csv`), path.join(dir, `${symbol}.csv`));
  return dir;
}

export interface LayerWeights {
  readonly name: string;
  /** Keras's cell scope for recurrent layers ('lstm_cell', 'gru_cell'). */
  readonly cell?: string;
  readonly weights: { name: string; shape: number[]; values: number[] }[];
}

/** A layer's tfjs weights under Keras's weight names. */
export function kerasWeights(layer: tf.layers.Layer, name: string, names: readonly string[], cell?: string): LayerWeights {
  const tensors = layer.getWeights();
  if (tensors.length !== names.length) throw new Error(`${name}: ${tensors.length} weights, ${names.length} names`);
  return {
    name,
    ...(cell === undefined ? {} : { cell }),
    weights: tensors.map((t, i) => ({ name: names[i] as string, shape: t.shape, values: Array.from(t.dataSync()) })),
  };
}

/** Scaled windows of closes → next scaled close, for a short real fit. */
export function trainingData(closes: readonly number[], window: number): { x: tf.Tensor3D; y: tf.Tensor2D } {
  const lo = Math.min(...closes);
  const hi = Math.max(...closes);
  const scaled = closes.map((c) => (c - lo) / (hi - lo));
  const xs: number[][][] = [];
  const ys: number[][] = [];
  for (let t = window; t < scaled.length; t += 1) {
    xs.push(scaled.slice(t - window, t).map((v) => [v]));
    ys.push([scaled[t] as number]);
  }
  return { x: tf.tensor3d(xs), y: tf.tensor2d(ys) };
}

export function predictValues(model: tf.LayersModel, input: tf.Tensor): number[] {
  return tf.tidy(() => Array.from((model.predict(input) as tf.Tensor).dataSync()));
}

export function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  return Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));
}

const LEGACY_WINDOW = 6;

/** The original system's files: ml_models/nvda_lstm_model.h5 and its joblib {features, target} scalers. */
export function writeLegacyFiles(mlModels: string): void {
  python('write_keras_h5.py', {
    path: path.join(mlModels, 'nvda_lstm_model.h5'),
    layout: 'keras2',
    model_config: { class_name: 'Sequential', config: { name: 'sequential', layers: [
      { class_name: 'LSTM', config: { name: 'lstm', batch_input_shape: [null, LEGACY_WINDOW, 1], units: 3, return_sequences: false, activation: 'tanh', recurrent_activation: 'sigmoid' } },
      { class_name: 'Dropout', config: { name: 'dropout', rate: 0.2 } },
      { class_name: 'Dense', config: { name: 'dense', units: 1, activation: 'linear' } },
    ] } },
    layers: [
      { name: 'lstm', cell: 'lstm_cell', weights: [
        { name: 'kernel', shape: [1, 12], values: Array.from({ length: 12 }, (_, i) => 0.3 * Math.sin(i + 1)) },
        { name: 'recurrent_kernel', shape: [3, 12], values: Array.from({ length: 36 }, (_, i) => 0.2 * Math.cos(i)) },
        { name: 'bias', shape: [12], values: Array.from({ length: 12 }, (_, i) => (i >= 3 && i < 6 ? 1 : 0)) },
      ] },
      { name: 'dropout', weights: [] },
      { name: 'dense', weights: [{ name: 'kernel', shape: [3, 1], values: [0.01, 0.01, 0.01] }, { name: 'bias', shape: [1], values: [0] }] },
    ],
  });
  const fit = Array.from({ length: 100 }, (_, i) => [0.1 + i * 2.5]);
  python('write_scaler.py', { path: path.join(mlModels, 'nvda_lstm_model_scalers.pkl'), kind: 'minmax', format: 'joblib', fit, target_fit: fit, probe: [[1]], target_probe: [[1]] });
}
