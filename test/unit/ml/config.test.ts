import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../../../src/errors.js';
import { DEFAULT_TRAINING_CONFIG, trainingConfigFromEnv } from '../../../src/ml/training/config.js';

describe('training configuration from the environment', () => {
  test('defaults cover the API horizon of 1..60 days', () => {
    assert.deepEqual(trainingConfigFromEnv({}), DEFAULT_TRAINING_CONFIG);
    assert.equal(DEFAULT_TRAINING_CONFIG.horizon, 60);
  });

  test('every TRAIN_* variable is read; flags override the environment', () => {
    const config = trainingConfigFromEnv(
      {
        TRAIN_WINDOW: '20', TRAIN_HORIZON: '10', TRAIN_LAYERS: '2', TRAIN_UNITS: '16', TRAIN_DROPOUT: '0.2', TRAIN_EPOCHS: '5',
        TRAIN_BATCH_SIZE: '256', TRAIN_LEARNING_RATE: '0.01', TRAIN_PATIENCE: '3', TRAIN_SEED: '9', TRAIN_MAX_BARS: '1000',
      },
      { epochs: 7, units: '24' },
    );
    assert.deepEqual(
      { ...config },
      { ...DEFAULT_TRAINING_CONFIG, window: 20, horizon: 10, layers: 2, units: 24, dropout: 0.2, epochs: 7, batchSize: 256, learningRate: 0.01, patience: 3, seed: 9, maxBars: 1000 },
    );
  });

  test('a bad value throws naming the variable', () => {
    const cases: Record<string, string> = { TRAIN_UNITS: 'abc', TRAIN_DROPOUT: '2', TRAIN_HORIZON: '61', TRAIN_WINDOW: '1.5', TRAIN_EPOCHS: '0', TRAIN_LEARNING_RATE: '-1' };
    for (const [variable, value] of Object.entries(cases)) {
      assert.throws(() => trainingConfigFromEnv({ [variable]: value }), (e: unknown) => e instanceof ValidationError && e.message.startsWith(`${variable}:`), variable);
    }
    assert.throws(() => trainingConfigFromEnv({}, { batchSize: -1 }), /^ValidationError: batchSize:/);
  });
});
