import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, catalogMessage, type ErrorCode, statusOf, UnavailableError } from '../errors.js';
import { redactDetails } from './public-message.js';

export interface ErrorExtra {
  readonly details?: Record<string, unknown>;
  readonly request_id?: string;
}

/**
 * The contract's error body: `{error, status, timestamp}` plus the catalog `code`, optional `details` and, on a
 * 500, `request_id`. The status always comes from the code, so the two never disagree.
 */
export function errorBody(code: ErrorCode, error: string = catalogMessage(code), extra: ErrorExtra = {}) {
  return { error, status: statusOf(code), code, timestamp: new Date().toISOString(), ...extra };
}

function sendError(reply: FastifyReply, code: ErrorCode, message?: string, extra?: ErrorExtra): FastifyReply {
  return reply
    .code(statusOf(code))
    .type('application/json; charset=utf-8')
    .send(errorBody(code, message, extra));
}

/** Fastify's own errors, by Fastify code, with the catalog code (and message) a client should read. */
const FRAMEWORK_ERRORS: Record<string, { code: ErrorCode; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST', message: 'the Content-Length does not match the body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_JSON', message: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_JSON' },
  FST_ERR_BAD_URL: { code: 'INVALID_URL' },
  FST_ERR_INVALID_URL: { code: 'INVALID_URL' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URI_TOO_LONG', message: 'a path segment is longer than 100 characters' },
};

/** Any other client error Fastify raises keeps its status when the catalog has a code for it, else it is a 400. */
const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  404: 'ROUTE_NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  413: 'BODY_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
};

/** Request ids a client may choose; anything else gets a fresh UUID. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestIdFor(headers: Record<string, string | string[] | undefined>): string {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function frameworkError(error: FastifyError): { code: ErrorCode; message: string } | undefined {
  const known = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
  if (known) return { code: known.code, message: known.message ?? catalogMessage(known.code) };
  if (isResponseSerializationError(error) || error.statusCode === undefined || error.statusCode < 400 || error.statusCode >= 500) return undefined;
  return { code: CODE_BY_STATUS[error.statusCode] ?? 'BAD_REQUEST', message: error.message };
}

/**
 * Every error leaves as the contract's JSON: validation → 400 naming the field, typed AppErrors → their
 * catalog code and status (503 with Retry-After), framework client errors → their catalog code, anything else
 * → 500 with the request id, logged with its stack. Never an HTML page, a stack trace, plain text or a server path.
 */
export function installErrorHandlers(app: FastifyInstance, publicMessage: (message: string) => string = String): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const first = error.validation[0];
      const field = first?.instancePath.replace(/^\//, '').replace(/\//g, '.');
      const where = [error.validationContext, field].filter(Boolean).join(' ');
      const message = `invalid ${where || 'request'}: ${first?.message ?? 'validation failed'}`;
      const code: ErrorCode = error.validationContext === 'params' && field === 'symbol' ? 'INVALID_SYMBOL' : 'INVALID_REQUEST';
      return sendError(reply, code, message, {
        details: { issues: error.validation.map((v) => ({ path: v.instancePath, message: v.message })) },
      });
    }
    if (error instanceof AppError) {
      if (error instanceof UnavailableError) void reply.header('Retry-After', String(error.retryAfterSeconds));
      if (error.status >= 500) request.log.error({ err: error }, 'request failed');
      const extra = error.status >= 500 ? { request_id: String(request.id) } : {};
      const details = error.details ? { details: redactDetails(error.details, publicMessage) } : {};
      return sendError(reply, error.code, publicMessage(error.message), { ...details, ...extra });
    }
    const known = frameworkError(error);
    if (known) return sendError(reply, known.code, known.message);
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 'INTERNAL_ERROR', undefined, { request_id: String(request.id) });
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 'ROUTE_NOT_FOUND', catalogMessage('ROUTE_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`)));
}

/**
 * Fastify's `frameworkErrors` option: errors raised while routing, before any hook runs (a malformed escape such
 * as `/api/v1/predict/%zz`, a path segment over 100 characters). Without it Fastify answers with its own body
 * and no request id. No hook runs for them, so the headers every answer carries (request id, CORS) are set
 * here, by `headersFor`.
 */
export function frameworkErrorHandler(headersFor: (request: FastifyRequest) => Record<string, string>) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const known = frameworkError(error) ?? { code: 'BAD_REQUEST' as const, message: catalogMessage('BAD_REQUEST') };
    void sendError(reply.header('X-Request-Id', String(request.id)).headers(headersFor(request)), known.code, known.message);
  };
}

/** What Node's HTTP parser reports, by its error code, as a catalog code. */
function clientErrorCode(error: NodeJS.ErrnoException): ErrorCode {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT') return 'REQUEST_TIMEOUT';
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (error.code === 'HPE_INVALID_URL') return 'INVALID_URL';
  return 'BAD_REQUEST';
}

/**
 * Fastify's `clientErrorHandler` option: requests Node's HTTP parser refuses before Fastify sees them (a
 * malformed request line or header, headers over the size limit, a request that timed out). The socket gets
 * the contract's body with a request id and is closed, as Node's own handler would do.
 */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = clientErrorCode(error);
  this.log.debug({ err: error, code }, 'client error');
  // A response already under way on this socket (a pipelined request) must not be interleaved with a second one.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true) {
    const status = statusOf(code);
    const body = JSON.stringify(errorBody(code));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
