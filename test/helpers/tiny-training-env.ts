/** CI-sized training settings as environment variables (the same network as test/server/fixtures.ts' TINY_TRAINING): a real LSTM trained in seconds. */
export const TINY_TRAINING_ENV: Readonly<Record<string, string>> = {
  TRAIN_EPOCHS: '2',
  TRAIN_UNITS: '8',
  TRAIN_WINDOW: '10',
  TRAIN_HORIZON: '10',
  TRAIN_MAX_BARS: '400',
  TRAIN_PATIENCE: '1',
};
