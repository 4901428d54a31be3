import cors from '@fastify/cors';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface CorsOptions {
  /** CORS_ORIGINS: empty (no cross-origin access), ['*'] (any origin, public read-only routes), or origins. */
  readonly origins: readonly string[];
}

/** Methods of the public read-only routes: every GET route is public, every key-protected route is a POST. */
const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);
const EXPOSED = ['X-Request-Id', 'Retry-After', 'ETag'];
const MAX_AGE_SECONDS = 600;

/**
 * The CORS headers of an actual (non-preflight) answer under CORS_ORIGINS, as the policy below gives them: for
 * answers that never reach the plugin's hook (Fastify's routing errors, `frameworkErrors`), so a browser reads
 * those errors exactly as it reads every other answer of the same request.
 */
export function simpleCorsHeaders(origins: readonly string[], method: string, origin: string | undefined): Record<string, string> {
  if (origins.length === 0) return {};
  const exposed = { vary: 'Origin', 'access-control-expose-headers': EXPOSED.join(', ') };
  if (origins[0] === '*') return READ_ONLY.has(method) ? { ...exposed, 'access-control-allow-origin': '*' } : { vary: 'Origin' };
  // @fastify/cors with a list exposes the headers to every origin and allows only the listed ones.
  return origin !== undefined && origins.includes(origin) ? { ...exposed, 'access-control-allow-origin': origin } : exposed;
}

/** What CORS_ORIGINS means, in one line for the start-up log. */
export function describeCors(origins: readonly string[]): string {
  if (origins.length === 0) return 'CORS off (CORS_ORIGINS empty): browsers on other origins cannot read any answer; preflights get 204 without CORS headers';
  if (origins[0] === '*') return 'CORS for any origin (CORS_ORIGINS=*) on the public read-only routes (GET, HEAD), without credentials; key-protected routes are not shared';
  return `CORS for ${origins.join(', ')} on every route (API key headers allowed, no cookies)`;
}

/**
 * Cross-origin access, decided by CORS_ORIGINS:
 * - empty: no CORS headers; an OPTIONS preflight is still answered (204), so a browser gets a clear refusal
 *   instead of a 404;
 * - `*`: the original UI's setting: `Access-Control-Allow-Origin: *` on GET/HEAD only, never with
 *   credentials, and preflights allow neither `Authorization` nor `X-API-Key` nor a POST, so no page on another
 *   origin can reach a key-protected route;
 * - a list of origins: those origins on every route, with the API-key headers (keys are headers, never cookies).
 */
async function corsPlugin(app: FastifyInstance, { origins }: CorsOptions): Promise<void> {
  app.log.info({ cors_origins: origins }, describeCors(origins));
  if (origins.length === 0) {
    app.options('*', { schema: { hide: true } }, async (_request, reply) => reply.code(204).header('Allow', 'GET, HEAD, POST, OPTIONS').send());
    return;
  }
  // Not strict: an OPTIONS without the preflight headers is answered 204 too, never with a text/plain 400.
  const common = { strictPreflight: false, credentials: false, exposedHeaders: EXPOSED, maxAge: MAX_AGE_SECONDS } as const;
  if (origins[0] !== '*') {
    await app.register(cors, {
      ...common,
      origin: [...origins],
      methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
      allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'X-Request-Id', 'If-None-Match'],
    });
    return;
  }
  const publicReadOnly = { ...common, origin: '*', methods: ['GET', 'HEAD'], allowedHeaders: ['Content-Type', 'X-Request-Id', 'If-None-Match'] };
  await app.register(cors, {
    hook: 'onRequest',
    delegator: (request: FastifyRequest, callback) => callback(null, READ_ONLY.has(request.method) ? publicReadOnly : { origin: false }),
  });
}

export default fp(corsPlugin, { name: 'cors-policy' });
