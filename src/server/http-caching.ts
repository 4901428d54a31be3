import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { predictionCacheKey } from './prediction-cache-key.js';
import type { Bar } from '../market/bar.js';

/**
 * Conditional GET for cacheable answers (predictions, history): a weak ETag and `Cache-Control: max-age` equal to
 * the prediction cache TTL, so browsers and the nginx in front keep an answer exactly as long as the service
 * would, and a client that already holds it gets a 304 without a body. Weak, because two answers with the same
 * tag may differ in `cached` and `prediction_time` while meaning the same forecast.
 */

/** What a prediction's ETag is made of: its cache key (symbol, answering model and version, last bar, horizon). */
export interface PredictionIdentity {
  readonly symbol: string;
  readonly model_version: string;
  readonly as_of: string;
  readonly days: number;
  readonly model: { readonly key: string };
}

/** A hot cached answer is one frozen object served many times: its tag is built once. */
const etags = new WeakMap<PredictionIdentity, string>();

export function predictionEtag(prediction: PredictionIdentity): string {
  const known = etags.get(prediction);
  if (known !== undefined) return known;
  const etag = buildPredictionEtag(prediction);
  if (Object.isFrozen(prediction)) etags.set(prediction, etag);
  return etag;
}

function buildPredictionEtag(prediction: PredictionIdentity): string {
  const key = predictionCacheKey({
    symbol: prediction.symbol,
    modelVersion: `${prediction.model.key}/${prediction.model_version}`,
    lastBarDate: prediction.as_of,
    horizon: prediction.days,
  });
  // The key is URI-encoded, so it holds no '"' and can be the tag itself.
  return `W/"${key}"`;
}

/** The bars' content (every field), so a corrected bar changes the tag even when the last date did not. */
export function historyEtag(symbol: string, days: number, bars: readonly Bar[]): string {
  const hash = createHash('sha1');
  hash.update(`${symbol}:${days}`);
  hash.update(bars.map((b) => `${b.date},${b.open},${b.high},${b.low},${b.close},${b.adjClose},${b.volume}`).join(';'));
  return `W/"history:${hash.digest('base64url')}"`;
}

/** Weak comparison (RFC 9110 §13.1.2): `W/` is ignored, `*` matches anything. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return header.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === wanted);
}

/**
 * Sets ETag and Cache-Control on a 200 answer; true when the request's If-None-Match already names it, in which
 * case the caller answers 304 with no body.
 */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string, maxAgeSeconds: number): boolean {
  void reply.header('ETag', etag);
  void reply.header('Cache-Control', `public, max-age=${Math.max(0, Math.floor(maxAgeSeconds))}`);
  return matchesIfNoneMatch(request.headers['if-none-match'], etag);
}
