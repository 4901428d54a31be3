export { DEFAULT_TRAINING_CONFIG, TRAINING_ENV, trainingConfigFromEnv } from './config.js';
export { trainModel, barsChecksum, type TrainedModel, type TrainingInput } from './train.js';
