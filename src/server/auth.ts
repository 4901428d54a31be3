import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../errors.js';

const digestOf = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** The key a client sent: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const auth = request.headers.authorization;
  const match = auth === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return match?.[1];
}

/**
 * The onRequest hook of protected routes (it runs before the body is read, so a refused caller costs no parsing). Keys are compared as SHA-256 digests with timingSafeEqual, over every
 * configured key, so neither the length nor the position of a match leaks through timing.
 * With no keys configured the routes are refused: protection is never open by default.
 */
export function requireApiKey(apiKeys: readonly string[]) {
  const digests = apiKeys.map(digestOf);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (digests.length === 0) throw new ForbiddenError('API_KEYS_NOT_CONFIGURED');
    const key = presentedKey(request);
    if (key === undefined) {
      void reply.header('WWW-Authenticate', 'Bearer realm="stock-prediction"');
      throw new UnauthorizedError();
    }
    const presented = digestOf(key);
    let match = false;
    for (const digest of digests) match = timingSafeEqual(presented, digest) || match;
    if (!match) throw new ForbiddenError('INVALID_API_KEY');
  };
}
