import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/ml/backend.js';

function nativeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

describe('selectBackend', () => {
  test('auto picks the fastest that loads and reports the one that runs', async () => {
    const chosen = await selectBackend('auto');
    assert.equal(chosen, tf.getBackend());
    assert.equal(chosen, nativeInstalled() ? 'tensorflow' : 'wasm');
    // the backend really computes
    const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).arraySync());
    assert.deepEqual(sum, [4, 6]);
  });

  test('a missing tfjs-node falls back instead of failing', async () => {
    const chosen = await selectBackend('tensorflow');
    assert.equal(chosen, nativeInstalled() ? 'tensorflow' : 'wasm');
  });

  test('an explicit choice is honoured', async () => {
    assert.equal(await selectBackend('cpu'), 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(await selectBackend('wasm'), 'wasm');
  });
});
