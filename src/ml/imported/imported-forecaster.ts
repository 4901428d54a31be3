import type * as tf from '@tensorflow/tfjs';
import { ValidationError } from '../../errors.js';
import type { Bar } from '../../market/bar.js';
import { InsufficientBarsError } from '../errors.js';
import { applyCalibration, trailingReturnsOfBars } from '../calibrate.js';
import { FEATURE_WARMUP } from '../features.js';
import { nextTradingDays } from '../../calendar/nyse.js';
import type { InferenceInfo } from '../inference/engine.js';
import type { Forecast, ForecastOptions, Forecaster, ModelMetadata } from '../types.js';
import type { ImportedScalerState } from './imported-scaler.js';
import { inputWindow, predictCloses } from './next-close.js';

/**
 * Serves an imported next-close network like a native model: the same Forecast through the same
 * calibration (applyCalibration: shrunk towards naive, volatility-scaled conformal bands with the
 * adaptive state, probability of an up day), the network's raw prices beside. Days beyond the first
 * come from iterating the network on its own output (metadata.origin.multi_step = 'iterated').
 */
export function createImportedForecaster(model: tf.LayersModel, scaler: ImportedScalerState, metadata: ModelMetadata): Forecaster {
  if (metadata.origin === undefined) throw new TypeError(`model ${metadata.key} ${metadata.version} is not an imported model`);
  if (scaler.inputs.join(',') !== metadata.origin.inputs.join(',')) throw new TypeError(`scaler does not match model ${metadata.key} (inputs differ)`);
  return new ImportedForecaster(model, scaler, metadata);
}

class ImportedForecaster implements Forecaster {
  /** The window, and the feature warm-up before its last day (the volatility's returns start there, as in evaluation). */
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

  async forecast(bars: readonly Bar[], days: number, options: ForecastOptions = {}): Promise<Forecast> {
    const { key, version, window, horizon, calibration } = this.metadata;
    if (this.disposed) throw new Error(`forecaster for ${key} ${version} was disposed`);
    if (!Number.isInteger(days) || days < 1 || days > horizon) {
      throw new ValidationError(`days must be an integer from 1 to ${horizon}, got ${days}`);
    }
    if (bars.length < this.requiredBars) throw new InsufficientBarsError(`forecast with window ${window}`, this.requiredBars, bars.length);
    const last = bars[bars.length - 1] as Bar;
    const current = last.adjClose;
    const prices = predictCloses(this.model, this.scaler, [inputWindow(bars, bars.length - 1, window, this.scaler.inputs)], days)[0] as number[];
    const adaptive = options.adaptive ?? (options.symbol === undefined ? undefined : calibration.adaptive[options.symbol]);
    const output = applyCalibration(calibration, prices.map((p) => Math.log(p / current)), trailingReturnsOfBars(bars), adaptive);
    const points = nextTradingDays(last.date, days).map((date, h) => {
      const r = output.served[h] as number;
      const band = (w: number): number => current * Math.exp(r + w);
      const [w80, w95] = [output.w80[h] as number, output.w95[h] as number];
      return {
        date, price: current * Math.exp(r), lstm_price: prices[h] as number, volatility: output.volatility[h] as number,
        lower_80: band(-w80), upper_80: band(w80), lower_95: band(-w95), upper_95: band(w95),
      };
    });
    return { as_of: last.date, current_price: current, points, probability_up: output.probabilityUp, confidence: Math.max(output.probabilityUp, 1 - output.probabilityUp) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}
