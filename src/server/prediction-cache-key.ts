import { SYMBOL_PATTERN } from '../market/bar.js';

export interface PredictionKeyParts {
  readonly symbol: string;
  /** Version of the model that answers (a per-symbol model or the global one). */
  readonly modelVersion: string;
  /** ISO date of the last bar the prediction starts from. */
  readonly lastBarDate: string;
  /** Trading days ahead. */
  readonly horizon: number;
}

/**
 * A prediction is a pure function of exactly these four values, so they are the whole key:
 * a new model version or a new bar yields a new key and old entries simply age out.
 * Parts are URI-encoded so a `:` inside a version string cannot make two keys collide.
 */
export function predictionCacheKey(parts: PredictionKeyParts): string {
  if (!SYMBOL_PATTERN.test(parts.symbol)) throw new RangeError(`invalid symbol for cache key: "${parts.symbol}"`);
  if (!Number.isInteger(parts.horizon) || parts.horizon < 1) throw new RangeError(`invalid horizon for cache key: ${parts.horizon}`);
  if (parts.modelVersion === '' || parts.lastBarDate === '') throw new RangeError('model version and last bar date are required for a cache key');
  const encoded = [parts.symbol, parts.modelVersion, parts.lastBarDate].map(encodeURIComponent);
  return `prediction:${encoded.join(':')}:${parts.horizon}`;
}
