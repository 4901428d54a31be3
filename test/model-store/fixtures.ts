import * as tf from '@tensorflow/tfjs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ModelArtifactsToSave } from '../../src/model-store/store.js';
import { fitScaler, serializeScaler } from '../../src/ml/scaler.js';
import type { ModelMetadata } from '../../src/ml/types.js';

export const WINDOW = 6;
export const FEATURES = 3;
export const HORIZON = 2;

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
}

/** A small real LSTM with seeded random weights: enough to tell two models apart by their output. */
export function tinyModel(seed: number): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.lstm({ units: 4, inputShape: [WINDOW, FEATURES], kernelInitializer: tf.initializers.glorotUniform({ seed }), recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }) }));
  model.add(tf.layers.dense({ units: HORIZON, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }));
  return model;
}

export function probeInput(): tf.Tensor3D {
  const values = Array.from({ length: 2 * WINDOW * FEATURES }, (_, i) => Math.sin(i * 0.7) * 1.5);
  return tf.tensor3d(values, [2, WINDOW, FEATURES]);
}

export function predict(model: tf.LayersModel): Float32Array {
  return tf.tidy(() => (model.predict(probeInput()) as tf.Tensor).dataSync() as Float32Array);
}

export function artifacts(key: string, seed: number): ModelArtifactsToSave {
  const scaler = fitScaler({
    featureNames: ['a', 'b', 'c'],
    featureRows: [[1, 2, 3], [2, 3, 5 + seed]],
    targetRows: [[0.01, 0.02], [-0.01, 0.03]],
    fitFrom: '2024-01-02',
    fitTo: '2024-01-03',
  });
  const metadata: Omit<ModelMetadata, 'version' | 'scaler_sha256'> = {
    key,
    symbols: [key.toUpperCase()],
    name: `${key}_lstm_model`,
    trained_at: '2026-11-25T22:00:00.000Z',
    window: WINDOW,
    horizon: HORIZON,
    features: ['a', 'b', 'c'],
    backend: 'cpu',
    config: { window: WINDOW, horizon: HORIZON, layers: 1, units: 4, dropout: 0, epochs: 1, batchSize: 8, learningRate: 0.001, patience: 1, seed, trainFraction: 0.7, validationFraction: 0.15, maxBars: 0 },
    data: { from: '2024-01-02', to: '2024-06-28', bars: 124, sha256: 'a'.repeat(64), source: 'test' },
    evaluation: {
      mae: 1.1, naive_mae: 1.2, naive_dm_p_value: 0.3, mae_ratio: 1.1 / 1.2, rmse: 1.5, naive_rmse: 1.6, mape: 0.01, naive_mape: 0.011, drift_mae: 1.25, moving_average_mae: 1.4,
      hit_rate: 0.52, always_up_hit_rate: 0.55, interval_coverage_80: 0.8, interval_coverage_95: 0.95, change_correlation: 0.05,
      test_from: '2024-06-01', test_to: '2024-06-28', test_days: 20,
      lstm_mae: 1.15, lstm_mae_ratio: 1.15 / 1.2, brier: 0.249, base_rate_brier: 0.249, base_rate: 0.54,
      reliability: [{ from: 0.54, to: 0.54, mean_predicted: 0.54, observed: 0.55, count: 20 }],
      horizons: [
        { steps: '1', count: 20, coverage_80: 0.8, coverage_95: 0.95, interval_score_80: 5, interval_score_95: 8, riskmetrics_coverage_80: 0.8, riskmetrics_coverage_95: 0.95, riskmetrics_interval_score_80: 5.1, riskmetrics_interval_score_95: 8.1 },
        { steps: '1..2', count: 39, coverage_80: 0.8, coverage_95: 0.95, interval_score_80: 6, interval_score_95: 9, riskmetrics_coverage_80: 0.8, riskmetrics_coverage_95: 0.95, riskmetrics_interval_score_80: 6.1, riskmetrics_interval_score_95: 9.1 },
      ],
      volatility_model: 'garch', volatility_qlike: -8, ewma_qlike: -7.9, garch_qlike: -8,
    },
    beats_naive: true,
    calibration: {
      shrinkage: [0, 0.1],
      volatility: { kind: 'garch', alpha: 0.08, beta: 0.9 },
      volatility_selection: { garch: { kind: 'garch', alpha: 0.08, beta: 0.9 }, ewma_qlike: -7.9, garch_qlike: -8 },
      intervals: { q80: [1.3, 1.3], q95: [2, 2], scaled_by: 'volatility_forecast' },
      adaptive: {},
      adaptive_rule: { rate: 0.03, divide_by_step: true },
      interval_window: 'validation',
      band_selection: { fit_days: 300, selection_days: 200, candidates: [] },
      direction: { base_rate: 0.54, scale: 0.01, fitted_slope: 0.1, slope_t: 1, slope: 0 },
    },
    timings: { train_seconds: 1, epochs_run: 1, best_epoch: 1, samples_per_second: 100 },
  };
  return { model: tinyModel(seed), scalerJson: serializeScaler(scaler), metadata };
}
