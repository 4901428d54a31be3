import type * as tf from '@tensorflow/tfjs';
import { ValidationError } from '../../errors.js';
import type { Bar } from '../../market/bar.js';
import { InsufficientBarsError } from '../errors.js';
import { intervalHalfWidths } from '../evaluation/conformal.js';
import { directionConfidence } from '../evaluation/direction.js';
import { buildFeatureMatrix, FEATURE_WARMUP, VOLATILITY_COLUMN } from '../features.js';
import { nextTradingDays } from '../../calendar/nyse.js';
import type { InferenceInfo } from '../inference/engine.js';
import type { Forecast, Forecaster, ModelMetadata } from '../types.js';
import type { ImportedScalerState } from './imported-scaler.js';
import { inputWindow, predictCloses } from './next-close.js';

/**
 * Serves an imported next-close network like a native model: the same Forecast (prices, 80 % /
 * 95 % bands from the conformal calibration on its own held-out residuals, scaled by the current
 * 20-day volatility, and a direction confidence measured on validation data). Days beyond the first
 * come from iterating the network on its own output (metadata.origin.multi_step = 'iterated').
 */
export function createImportedForecaster(model: tf.LayersModel, scaler: ImportedScalerState, metadata: ModelMetadata): Forecaster {
  if (metadata.origin === undefined) throw new TypeError(`model ${metadata.key} ${metadata.version} is not an imported model`);
  if (scaler.inputs.join(',') !== metadata.origin.inputs.join(',')) throw new TypeError(`scaler does not match model ${metadata.key} (inputs differ)`);
  return new ImportedForecaster(model, scaler, metadata);
}

class ImportedForecaster implements Forecaster {
  /** The window, and the feature warm-up before its last day that the band-scaling volatility needs. */
  readonly requiredBars: number;
  /** Imported networks (any of the supported layers, iterated on their own output) run on the tfjs graph. */
  readonly inference: InferenceInfo = { path: 'tfjs', reason: 'imported Keras network' };
  private disposed = false;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly scaler: ImportedScalerState,
    readonly metadata: ModelMetadata,
  ) {
    this.requiredBars = Math.max(metadata.window, FEATURE_WARMUP + 1);
  }

  async forecast(bars: readonly Bar[], days: number): Promise<Forecast> {
    const { key, version, window, horizon } = this.metadata;
    if (this.disposed) throw new Error(`forecaster for ${key} ${version} was disposed`);
    if (!Number.isInteger(days) || days < 1 || days > horizon) {
      throw new ValidationError(`days must be an integer from 1 to ${horizon}, got ${days}`);
    }
    if (bars.length < this.requiredBars) throw new InsufficientBarsError(`forecast with window ${window}`, this.requiredBars, bars.length);
    const last = bars[bars.length - 1] as Bar;
    const prices = predictCloses(this.model, this.scaler, [inputWindow(bars, bars.length - 1, window, this.scaler.inputs)], days)[0] as number[];
    const volatility = (buildFeatureMatrix(bars.slice(-(FEATURE_WARMUP + 1))).rows.at(-1) as readonly number[])[VOLATILITY_COLUMN] as number;
    const { w80, w95 } = intervalHalfWidths(this.metadata.intervals, volatility);
    const current = last.adjClose;
    const points = nextTradingDays(last.date, days).map((date, h) => {
      const r = Math.log((prices[h] as number) / current);
      const band = (w: number): number => current * Math.exp(r + w);
      return { date, price: prices[h] as number, lower_80: band(-(w80[h] as number)), upper_80: band(w80[h] as number), lower_95: band(-(w95[h] as number)), upper_95: band(w95[h] as number) };
    });
    return { as_of: last.date, current_price: current, points, confidence: directionConfidence(this.metadata.direction, Math.log((prices[0] as number) / current)) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}
