import type * as tf from '@tensorflow/tfjs';
import { nextTradingDays } from '../calendar/nyse.js';
import { ValidationError } from '../errors.js';
import type { Bar } from '../market/bar.js';
import { InsufficientBarsError } from './errors.js';
import { applyCalibration, trailingReturnsOfBars } from './calibrate.js';
import { createInferenceEngine, type InferenceEngine, type InferencePreference } from './inference/engine.js';
import { buildFeatureWindow } from './feature-window.js';
import { FEATURE_WARMUP } from './features.js';
import { scaleFeatures, unscaleTargets, type ScalerState } from './scaler.js';
import type { Forecast, ForecastOptions, ForecastPoint, Forecaster, ModelMetadata } from './types.js';
import type { VolatilityHead } from './volatility-head/head.js';

/**
 * Extra history fed to the feature recursions (EMA, Wilder RSI) beyond the minimum, so their
 * start-up transient (< 1e-8 after this many days) does not differ from training. Using a fixed
 * tail also makes a forecast a function of the last bars only, not of how much history was passed.
 */
export const FORECAST_EXTRA_HISTORY = 250;

function checkCompatible(scaler: ScalerState, metadata: ModelMetadata, head: VolatilityHead | undefined): void {
  if (scaler.feature_names.join(',') !== metadata.features.join(',') || scaler.target_mean.length !== metadata.horizon) {
    throw new TypeError(`scaler does not match model ${metadata.key} (features or horizon differ)`);
  }
  if ((metadata.calibration as ModelMetadata['calibration'] | undefined)?.shrinkage.length !== metadata.horizon) {
    throw new TypeError(`model ${metadata.key} ${metadata.version} has no calibration for its horizon (saved before calibrated forecasts: retrain it)`);
  }
  if (metadata.calibration.volatility.kind === 'lstm_head' && (head === undefined || head.horizon < metadata.horizon)) {
    throw new TypeError(`model ${metadata.key} ${metadata.version} serves the LSTM volatility head, but no head for its horizon was loaded`);
  }
}

/**
 * Wraps a trained model: bars → causal features → scaled window → the network's cumulative log returns
 * → calibrated (applyCalibration: shrunk towards naive, volatility-scaled conformal bands with the
 * adaptive state, probability of an up day) → prices rebuilt from the last close, the network's raw
 * price beside the served one. Deterministic for the same bars and adaptive state.
 */
export function createForecaster(
  model: tf.LayersModel,
  scaler: ScalerState,
  metadata: ModelMetadata,
  inference: InferencePreference = 'auto',
  head?: VolatilityHead,
): Forecaster {
  checkCompatible(scaler, metadata, head);
  return forecasterOn(createInferenceEngine(model, inference), scaler, metadata, head);
}

/** The same forecaster over an engine built elsewhere (from a model's saved files); it owns the engine. */
export function createForecasterOn(engine: InferenceEngine, scaler: ScalerState, metadata: ModelMetadata, head?: VolatilityHead): Forecaster {
  checkCompatible(scaler, metadata, head);
  return forecasterOn(engine, scaler, metadata, head);
}

function forecasterOn(engine: InferenceEngine, scaler: ScalerState, metadata: ModelMetadata, head: VolatilityHead | undefined): Forecaster {
  const { window, horizon } = metadata;
  // Built once: a forecast then passes the loaded head to applyCalibration without a copy.
  const serving = { ...metadata.calibration, volatilityHead: head };
  const requiredBars = window + FEATURE_WARMUP;
  let disposed = false;
  // The dates of the whole horizon after the last bar's date, kept: every forecast from the same last bar has the
  // same dates, and walking the calendar for them cost more than the network's forward pass.
  let dates: { readonly after: string; readonly days: readonly string[] } = { after: '', days: [] };

  async function forecast(bars: readonly Bar[], days: number, options: ForecastOptions = {}): Promise<Forecast> {
    if (disposed) throw new Error(`forecaster for ${metadata.key} ${metadata.version} was disposed`);
    if (!Number.isInteger(days) || days < 1 || days > horizon) {
      throw new ValidationError(`days must be an integer from 1 to ${horizon}, got ${days}`);
    }
    if (bars.length < requiredBars) {
      throw new InsufficientBarsError(`forecast with window ${window}`, requiredBars, bars.length);
    }
    const recent = bars.slice(-(requiredBars + FORECAST_EXTRA_HISTORY));
    const features = buildFeatureWindow(recent, window);
    const input = new Float64Array(window * metadata.features.length);
    features.forEach((row, t) => input.set(scaleFeatures(scaler, row), t * row.length));
    const scaled = await engine.run(input);
    const adaptive = options.adaptive ?? (options.symbol === undefined ? undefined : serving.adaptive[options.symbol]);
    const output = applyCalibration(serving, unscaleTargets(scaler, scaled), trailingReturnsOfBars(recent), adaptive);
    const last = recent[recent.length - 1] as Bar;
    const price = last.adjClose;
    if (dates.after !== last.date) dates = { after: last.date, days: nextTradingDays(last.date, horizon) };
    const points: ForecastPoint[] = dates.days.slice(0, days).map((date, h) => {
      const r = output.served[h] as number;
      const q80 = output.w80[h] as number;
      const q95 = output.w95[h] as number;
      return {
        date,
        price: price * Math.exp(r),
        lstm_price: price * Math.exp(output.raw[h] as number),
        volatility: output.volatility[h] as number,
        lower_80: price * Math.exp(r - q80),
        upper_80: price * Math.exp(r + q80),
        lower_95: price * Math.exp(r - q95),
        upper_95: price * Math.exp(r + q95),
      };
    });
    return {
      as_of: last.date,
      current_price: price,
      points,
      probability_up: output.probabilityUp,
      confidence: Math.max(output.probabilityUp, 1 - output.probabilityUp),
    };
  }

  return {
    metadata,
    inference: engine.reason === undefined ? { path: engine.path } : { path: engine.path, reason: engine.reason },
    requiredBars,
    forecast,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      engine.dispose();
    },
  };
}
