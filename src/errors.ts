/**
 * The one catalog of errors a client can see, in the style of Fastify's `lib/errors.js`: each stable
 * machine-readable `code` maps to exactly one HTTP status and a message template. Every error body carries its
 * `code`; the HTTP layer never guesses a status from message text. Codes are part of the API contract: add new
 * ones here (and to the README's table), never rename or re-use one.
 *
 * The template is the message when the thrower has nothing more specific to say (framework errors, the docs);
 * `%s` placeholders are filled by `catalogMessage`.
 */
export const ERROR_CATALOG = {
  INVALID_REQUEST: { status: 400, message: 'invalid %s' },
  INVALID_SYMBOL: { status: 400, message: 'invalid symbol %s: must match ^[A-Z][A-Z0-9.-]{0,9}$ after upper-casing' },
  INVALID_JSON: { status: 400, message: 'the body is not valid JSON' },
  INVALID_URL: { status: 400, message: 'the URL is malformed (bad percent-encoding or characters)' },
  BAD_REQUEST: { status: 400, message: 'malformed HTTP request' },
  API_KEY_REQUIRED: { status: 401, message: 'an API key is required (Authorization: Bearer <key> or X-API-Key: <key>)' },
  INVALID_API_KEY: { status: 403, message: 'the API key is not valid' },
  API_KEYS_NOT_CONFIGURED: { status: 403, message: 'this route is disabled: no API_KEYS are configured on the server' },
  ROUTE_NOT_FOUND: { status: 404, message: 'no route for %s' },
  UNKNOWN_SYMBOL: { status: 404, message: 'no market data for symbol %s' },
  INSUFFICIENT_HISTORY: { status: 404, message: 'not enough history for %s' },
  MODEL_NOT_FOUND: { status: 404, message: 'no model for %s' },
  JOB_NOT_FOUND: { status: 404, message: 'no training job %s' },
  TRACKED_FORECAST_NOT_FOUND: { status: 404, message: 'no tracked forecast for %s' },
  REQUEST_TIMEOUT: { status: 408, message: 'the request was not received in time' },
  TRAINING_CONFLICT: { status: 409, message: 'a training job for %s is already running' },
  BODY_TOO_LARGE: { status: 413, message: 'request body is too large' },
  URI_TOO_LONG: { status: 414, message: 'the URL is too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported content type: send application/json' },
  INVALID_MARKET_DATA: { status: 422, message: 'market data failed validation: %s' },
  UNREADABLE_LEGACY_FILE: { status: 422, message: 'the legacy model, scaler or backup file cannot be imported: %s' },
  RATE_LIMITED: { status: 429, message: 'too many requests' },
  HEADERS_TOO_LARGE: { status: 431, message: 'the request headers are too large' },
  INTERNAL_ERROR: { status: 500, message: 'internal server error' },
  CORRUPT_MODEL: { status: 500, message: 'model files are corrupt or incomplete: %s' },
  DATA_SOURCE_UNAVAILABLE: { status: 503, message: 'the market data source is unavailable' },
  MODEL_UNAVAILABLE: { status: 503, message: 'no model is loaded to answer this symbol yet' },
  TRACKING_UNAVAILABLE: { status: 503, message: 'the prediction-tracking database is unavailable' },
  QUEUE_UNAVAILABLE: { status: 503, message: 'the job queue (Redis) is unavailable' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'the service is unavailable (starting or shutting down)' },
  OVERLOADED: { status: 503, message: 'the server is overloaded (%s); retry after Retry-After seconds' },
} as const satisfies Record<string, { readonly status: number; readonly message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
export const ERROR_CODES = Object.keys(ERROR_CATALOG) as [ErrorCode, ...ErrorCode[]];
type StatusOf<C extends ErrorCode> = (typeof ERROR_CATALOG)[C]['status'];
/** The codes whose status is S: typed error classes accept only the codes of their own status. */
export type CodeWithStatus<S extends number> = { [C in ErrorCode]: StatusOf<C> extends S ? C : never }[ErrorCode];

export function statusOf(code: ErrorCode): number {
  return ERROR_CATALOG[code].status;
}

/** The catalog's template for a code with its `%s` placeholders filled in order. */
export function catalogMessage(code: ErrorCode, ...args: readonly string[]): string {
  let i = 0;
  return ERROR_CATALOG[code].message.replace(/%s/g, () => args[i++] ?? '');
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOG, value);
}

/** Base of every typed error: a catalog code, its status, the message and optional details for the body. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string = catalogMessage(code), details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = statusOf(code);
    this.details = details;
  }
}

/** Malformed input: bad symbol, out-of-range parameter, bad body. */
export class ValidationError extends AppError {
  constructor(message: string, details?: Record<string, unknown>, code: CodeWithStatus<400> = 'INVALID_REQUEST') {
    super(code, message, details);
  }
}

/** Missing credentials on a protected route. */
export class UnauthorizedError extends AppError {
  constructor(message: string = catalogMessage('API_KEY_REQUIRED')) {
    super('API_KEY_REQUIRED', message);
  }
}

/** Wrong credentials, or protected routes disabled because no API keys are configured. */
export class ForbiddenError extends AppError {
  constructor(code: CodeWithStatus<403>) {
    super(code);
  }
}

/** A well-formed request for something that does not exist (no data and no model for a symbol, no such job). */
export class NotFoundError extends AppError {
  constructor(message: string, details?: Record<string, unknown>, code: CodeWithStatus<404> = 'UNKNOWN_SYMBOL') {
    super(code, message, details);
  }
}

/** A conflicting operation, e.g. a second training job for the same symbol. */
export class ConflictError extends AppError {
  constructor(message: string, details?: Record<string, unknown>, code: CodeWithStatus<409> = 'TRAINING_CONFLICT') {
    super(code, message, details);
  }
}

/** A dependency needed for this answer is down and nothing usable is cached. */
export class UnavailableError extends AppError {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds = 30, details?: Record<string, unknown>, code: CodeWithStatus<503> = 'DATA_SOURCE_UNAVAILABLE') {
    super(code, message, details);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Market data that cannot be trusted: unsorted, duplicate, missing or non-positive rows. */
export class DataValidationError extends AppError {
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(message: string, where: { file?: string; line?: number } = {}) {
    const location = where.file ? `${where.file}${where.line !== undefined ? `:${where.line}` : ''}: ` : '';
    super('INVALID_MARKET_DATA', `${location}${message}`, { file: where.file, line: where.line });
    this.file = where.file;
    this.line = where.line;
  }
}

/** A model folder whose files do not match their recorded checksums, or that is incomplete. */
export class CorruptModelError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CORRUPT_MODEL', message, details);
  }
}

/**
 * A file brought in from the original system (Keras HDF5 model, pickled scaler, legacy backup)
 * that the importer cannot read or will not trust: truncated, malformed, or holding a layer or
 * object it does not support. Nothing is written when it is thrown.
 */
export class LegacyFileError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('UNREADABLE_LEGACY_FILE', message, details);
  }
}

/** The message of anything thrown, for logs and error bodies. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
