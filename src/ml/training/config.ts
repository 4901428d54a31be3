import { z } from 'zod';
import { ValidationError } from '../../errors.js';
import type { TrainingConfig } from '../types.js';

/**
 * Defaults sized for this 2-core machine on the wasm backend (see bench/training.ts): one LSTM
 * layer of 32 units over a 30-day window trains a ~5000-bar history in under a minute or two, and a
 * 60-step head covers the API's 1..60-day horizon in one model. Batch 128 reached the same best
 * validation loss as 64 on NVDA, AAPL and SPY at about 1.5x the samples/s; 16 units was faster
 * still but worse on NVDA's validation loss. Early stopping usually ends the run within 15 epochs.
 */
export const DEFAULT_TRAINING_CONFIG: TrainingConfig = Object.freeze({
  window: 30,
  horizon: 60,
  layers: 1,
  units: 32,
  dropout: 0.1,
  epochs: 40,
  batchSize: 128,
  learningRate: 0.001,
  patience: 5,
  seed: 42,
  trainFraction: 0.7,
  validationFraction: 0.15,
  maxBars: 0,
});

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const fields = {
  window: int(2, 500),
  horizon: int(1, 60),
  layers: int(1, 4),
  units: int(1, 512),
  dropout: z.coerce.number().min(0).max(0.9),
  epochs: int(1, 10_000),
  batchSize: int(1, 4096),
  learningRate: z.coerce.number().gt(0).max(1),
  patience: int(1, 1000),
  seed: int(0, 2_147_483_647),
  trainFraction: z.coerce.number().gt(0).lt(1),
  validationFraction: z.coerce.number().gt(0).lt(1),
  maxBars: int(0, 1_000_000),
} satisfies Record<keyof TrainingConfig, z.ZodType>;

/** Environment variable per option; the fractions have none (they change what "test" means). */
export const TRAINING_ENV: Readonly<Partial<Record<keyof TrainingConfig, string>>> = {
  window: 'TRAIN_WINDOW',
  horizon: 'TRAIN_HORIZON',
  layers: 'TRAIN_LAYERS',
  units: 'TRAIN_UNITS',
  dropout: 'TRAIN_DROPOUT',
  epochs: 'TRAIN_EPOCHS',
  batchSize: 'TRAIN_BATCH_SIZE',
  learningRate: 'TRAIN_LEARNING_RATE',
  patience: 'TRAIN_PATIENCE',
  seed: 'TRAIN_SEED',
  maxBars: 'TRAIN_MAX_BARS',
};

/**
 * Defaults, then environment variables, then `overrides` (e.g. CLI flags). Every value is
 * validated; a bad one throws a ValidationError naming its variable (or option).
 */
export function trainingConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  overrides: Readonly<Partial<Record<keyof TrainingConfig, string | number>>> = {},
): TrainingConfig {
  const config: Record<string, number> = { ...DEFAULT_TRAINING_CONFIG };
  for (const key of Object.keys(fields) as (keyof TrainingConfig)[]) {
    const variable = TRAINING_ENV[key];
    const fromEnv = variable === undefined ? undefined : env[variable];
    const override = overrides[key];
    const raw = override ?? (fromEnv === undefined || fromEnv.trim() === '' ? undefined : fromEnv);
    if (raw === undefined) continue;
    const name = override !== undefined ? key : (variable as string);
    const parsed = fields[key].safeParse(typeof raw === 'string' ? raw.trim() : raw);
    if (!parsed.success) {
      throw new ValidationError(`${name}: invalid value ${JSON.stringify(raw)} (${parsed.error.issues[0]?.message ?? 'invalid'})`, { variable: name });
    }
    config[key] = parsed.data;
  }
  const result = config as unknown as TrainingConfig;
  if (result.trainFraction + result.validationFraction >= 1) {
    throw new ValidationError('trainFraction + validationFraction must leave a test split (sum < 1)');
  }
  return Object.freeze(result);
}
