import path from 'node:path';
import { sha256File } from '../fs/file-digest.js';
import { LegacyFileError } from '../errors.js';
import type { MarketDataProvider } from '../market/provider.js';
import { evaluateImported } from '../ml/imported/evaluate-imported.js';
import { serializeImportedScaler } from '../ml/imported/imported-scaler.js';
import { canIterate } from '../ml/imported/next-close.js';
import { barsChecksum, dataRange } from '../ml/training/train.js';
import { DEFAULT_TRAINING_CONFIG } from '../ml/training/config.js';
import type { ModelMetadata } from '../ml/types.js';
import { modelKey, type ModelStore } from '../model-store/store.js';
import { readKerasFile } from './keras-file.js';
import { buildNetwork, describeLayers } from './network.js';
import { importedScaler, readScalerFile } from './scaler-file.js';

export interface ImportKerasOptions {
  readonly modelFile: string;
  readonly scalerFile: string;
  readonly symbol: string;
  /** The network's window, when the caller wants it checked (the file's own is used). */
  readonly window?: number;
  /** Bar columns of the inputs, in order (default: the scaler's column names, else the close). */
  readonly inputs?: readonly string[];
  /** Trading days forecast by iterating a close-only network (default: the service's 60). */
  readonly horizon?: number;
  readonly store: ModelStore;
  readonly market: MarketDataProvider;
  /** The tfjs backend that runs, recorded like a trained model's. */
  readonly backend: string;
  readonly now?: () => Date;
}

export interface ImportedModel {
  readonly key: string;
  readonly version: string;
  readonly metadata: Omit<ModelMetadata, 'version' | 'scaler_sha256'>;
}

const CAVEAT =
  'imported: the file does not say which days the network and its scaler were fitted on, so the test split may include days they saw; the scores are an upper bound on its quality';

/**
 * Imports a Keras next-close model and its scaler as a new current version of `symbol`'s model:
 * reads and checks both files completely (nothing is written for a file that is refused), rebuilds
 * the network in tfjs, evaluates it on the symbol's bars exactly like a native model and saves it
 * through the model store with metadata naming where it came from.
 */
export async function importKerasModel(options: ImportKerasOptions): Promise<ImportedModel> {
  const key = modelKey(options.symbol);
  const symbol = options.symbol.toUpperCase();
  const modelName = path.basename(options.modelFile);
  const keras = await readKerasFile(options.modelFile);
  if (options.window !== undefined && options.window !== keras.spec.window) {
    throw new LegacyFileError(`${modelName}: --window ${options.window} does not match the network's input window of ${keras.spec.window} days`, { file: modelName });
  }
  const scalers = await readScalerFile(options.scalerFile);
  const scaler = importedScaler(scalers, options.inputs, keras.spec.features, path.basename(options.scalerFile));
  const iterated = canIterate(scaler);
  const horizon = iterated ? (options.horizon ?? DEFAULT_TRAINING_CONFIG.horizon) : 1;
  if (!iterated && options.horizon !== undefined && options.horizon > 1) {
    throw new LegacyFileError(`${modelName}: a network with inputs ${scaler.inputs.join(', ')} cannot be iterated on its own output; it forecasts one day (--horizon 1)`, { file: modelName });
  }
  const bars = await options.market.getBars(symbol);
  const model = buildNetwork(keras.spec, keras.weights, keras.expected);
  try {
    const judged = evaluateImported({
      model, scaler, window: keras.spec.window, horizon, symbol, bars,
      trainFraction: DEFAULT_TRAINING_CONFIG.trainFraction, validationFraction: DEFAULT_TRAINING_CONFIG.validationFraction,
    });
    const series = [{ symbol, bars }];
    const recurrent = keras.spec.layers.filter((l) => l.kind === 'LSTM' || l.kind === 'GRU');
    const metadata: Omit<ModelMetadata, 'version' | 'scaler_sha256'> = {
      key,
      symbols: [symbol],
      name: `${key}_lstm_model`,
      trained_at: (options.now?.() ?? new Date()).toISOString(),
      window: keras.spec.window,
      horizon,
      features: [...scaler.inputs],
      backend: options.backend,
      // Training settings do not apply; the shape fields describe the imported network and the
      // fractions are the split it was evaluated on (a retrain of this symbol starts from them).
      config: {
        ...DEFAULT_TRAINING_CONFIG,
        window: keras.spec.window,
        horizon,
        layers: Math.max(1, recurrent.length),
        units: recurrent[0]?.units ?? DEFAULT_TRAINING_CONFIG.units,
      },
      data: { ...dataRange(series), sha256: barsChecksum(series), source: options.market.name },
      evaluation: judged.evaluation,
      beats_naive: judged.beats_naive,
      calibration: judged.calibration,
      timings: { train_seconds: 0, epochs_run: 0, best_epoch: 0, samples_per_second: 0 },
      origin: {
        kind: 'keras_import',
        imported_at: (options.now?.() ?? new Date()).toISOString(),
        model_file: modelName,
        model_sha256: await sha256File(options.modelFile),
        layout: keras.layout,
        keras_version: keras.kerasVersion,
        scaler_file: path.basename(options.scalerFile),
        scaler_sha256: await sha256File(options.scalerFile),
        scaler_format: scalers.format,
        scaler_types: { features: scaler.features.type, target: scaler.target.type },
        layers: describeLayers(keras.spec),
        inputs: [...scaler.inputs],
        output: 'next_close',
        multi_step: iterated ? 'iterated' : 'single_step',
        caveat: CAVEAT,
      },
    };
    const version = await options.store.saveModel({ model, scalerJson: serializeImportedScaler(scaler), metadata, testForecasts: judged.testForecasts, testPaths: judged.testPaths });
    return { key, version, metadata };
  } finally {
    model.dispose();
  }
}
