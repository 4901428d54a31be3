import type { z } from 'zod';
import type { Calibration, Evaluation, Forecast, ModelMetadata, ModelOrigin } from '../ml/types.js';
import type { CalibrationBody, EvaluationBody, ModelOriginBody, PredictionBody } from './schemas.js';

export type Prediction = z.output<typeof PredictionBody>;
export type TradingSignal = Prediction['trading_signal'];

export interface SignalThresholds {
  /** predicted/current above this → BUY (the original's STOCK_BUY_THRESHOLD, 1.01). */
  readonly buy: number;
  /** predicted/current below this → SELL (STOCK_SELL_THRESHOLD, 0.99). */
  readonly sell: number;
}

export function tradingSignal(currentPrice: number, predictedPrice: number, thresholds: SignalThresholds): TradingSignal {
  const ratio = predictedPrice / currentPrice;
  if (ratio > thresholds.buy) return 'BUY';
  if (ratio < thresholds.sell) return 'SELL';
  return 'HOLD';
}

const round = (value: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};
/** Prices in API bodies: 4 decimals. */
export const price = (value: number): number => round(value, 4);

/** A model's stored evaluation as the API shows it. */
export function evaluationBody(e: Evaluation): z.output<typeof EvaluationBody> {
  return { ...e, reliability: e.reliability.map((b) => ({ ...b })), horizons: e.horizons.map((h) => ({ ...h })) };
}

/** The calibration as the API shows it, without the per-symbol adaptive band states (serving state, not a property of the model). */
export function calibrationBody(c: Calibration): z.output<typeof CalibrationBody> {
  return {
    shrinkage: [...c.shrinkage],
    volatility: { ...c.volatility },
    volatility_selection: { ...c.volatility_selection, garch: { ...c.volatility_selection.garch } },
    intervals: { ...c.intervals, q80: [...c.intervals.q80], q95: [...c.intervals.q95] },
    direction: { ...c.direction },
    interval_window: c.interval_window,
    adaptive_rule: { ...c.adaptive_rule },
    band_selection: { ...c.band_selection, candidates: c.band_selection.candidates.map((x) => ({ ...x })) },
  };
}

export interface PredictionInput {
  readonly symbol: string;
  readonly days: number;
  readonly forecast: Forecast;
  readonly metadata: ModelMetadata;
  /** True when the global model answered for a symbol without a model of its own. */
  readonly fallback: boolean;
  readonly dataSource: string;
  readonly thresholds: SignalThresholds;
  readonly now: Date;
}

/** The contract's prediction body (original v3.3 fields first), built from a forecast; `cached` is false. */
export function buildPrediction(input: PredictionInput): Prediction {
  const { forecast, metadata, thresholds } = input;
  const next = forecast.points[0];
  if (next === undefined) throw new Error(`forecast for ${input.symbol} has no points`);
  const current = forecast.current_price;
  const numbers = [current, forecast.confidence, forecast.probability_up, ...forecast.points.flatMap((p) => [p.price, p.lstm_price, p.volatility, p.lower_80, p.upper_80, p.lower_95, p.upper_95])];
  // Garbage in the bars must surface as an error, never as a cached prediction of NaN.
  if (!numbers.every(Number.isFinite)) throw new Error(`forecast for ${input.symbol} contains non-finite numbers`);
  return {
    symbol: input.symbol,
    current_price: price(current),
    predicted_price: price(next.price),
    trading_signal: tradingSignal(current, next.price, thresholds),
    confidence: round(forecast.confidence, 4),
    probability_up: round(forecast.probability_up, 4),
    lstm_predicted_price: price(next.lstm_price),
    prediction_time: input.now.toISOString(),
    model_version: metadata.version,
    as_of: forecast.as_of,
    predicted_change_pct: round((next.price / current - 1) * 100, 4),
    days: input.days,
    forecast: forecast.points.map((p) => ({
      date: p.date,
      price: price(p.price),
      lstm_price: price(p.lstm_price),
      volatility: round(p.volatility, 6),
      lower_80: price(p.lower_80),
      upper_80: price(p.upper_80),
      lower_95: price(p.lower_95),
      upper_95: price(p.upper_95),
    })),
    // The random walk: tomorrow's close is today's close.
    baseline: { method: 'naive', predicted_price: price(current) },
    model: {
      name: input.fallback ? `${metadata.name} (global fallback: ${input.symbol} has no model of its own)` : metadata.name,
      key: metadata.key,
      version: metadata.version,
      trained_at: metadata.trained_at,
      window: metadata.window,
      horizon: metadata.horizon,
      features: [...metadata.features],
      backend: metadata.backend,
      evaluation: evaluationBody(metadata.evaluation),
      beats_naive: metadata.beats_naive,
      fallback: input.fallback,
      ...(metadata.origin !== undefined ? { origin: originBody(metadata.origin) } : {}),
    },
    data_source: input.dataSource,
    cached: false,
  };
}

/** An imported model's origin as the API shows it (the model card says it was imported, and from what). */
export function originBody(origin: ModelOrigin): z.output<typeof ModelOriginBody> {
  return { ...origin, scaler_types: { ...origin.scaler_types }, layers: [...origin.layers], inputs: [...origin.inputs] };
}
