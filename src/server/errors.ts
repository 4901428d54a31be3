import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, UnavailableError } from '../errors.js';

/** The contract's error body: `{error, status, timestamp}` plus optional `details` and, on a 500, `request_id`. */
export function errorBody(status: number, error: string, extra: { details?: Record<string, unknown>; request_id?: string } = {}) {
  return { error, status, timestamp: new Date().toISOString(), ...extra };
}

function sendError(reply: FastifyReply, status: number, message: string, extra?: Parameters<typeof errorBody>[2]): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(status, message, extra));
}

/** Fastify's own client errors, by code, with the message a client should read. */
const FRAMEWORK_ERRORS: Record<string, { status: number; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, message: 'request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, message: 'unsupported content type: send application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, message: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, message: 'the body is not valid JSON' },
};

/**
 * Every error leaves as the contract's JSON: validation → 400 naming the field, typed AppErrors → their
 * status (503 with Retry-After), framework client errors → 400/413/415, anything else → 500 with the
 * request id, logged with its stack. Never an HTML page, a stack trace or plain text.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const first = error.validation[0];
      const where = [error.validationContext, first?.instancePath.replace(/^\//, '').replace(/\//g, '.')].filter(Boolean).join(' ');
      const message = `invalid ${where || 'request'}: ${first?.message ?? 'validation failed'}`;
      return sendError(reply, 400, message, {
        details: { issues: error.validation.map((v) => ({ path: v.instancePath, message: v.message })) },
      });
    }
    if (error instanceof AppError) {
      if (error instanceof UnavailableError) void reply.header('Retry-After', String(error.retryAfterSeconds));
      if (error.status >= 500) request.log.error({ err: error }, 'request failed');
      const extra = error.status >= 500 ? { request_id: String(request.id) } : {};
      return sendError(reply, error.status, error.message, { ...(error.details ? { details: error.details } : {}), ...extra });
    }
    const known = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
    if (known) return sendError(reply, known.status, known.message ?? error.message);
    if (!isResponseSerializationError(error) && error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, error.statusCode, error.message);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 500, 'internal server error', { request_id: String(request.id) });
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 404, `no route for ${request.method} ${request.url.split('?')[0]}`));
}
