/**
 * Typed errors shared by every layer. Each carries the HTTP status a client should see,
 * so the HTTP layer never has to guess from message text.
 */
export class AppError extends Error {
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, status: number, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.details = details;
  }
}

/** Malformed input: bad symbol, out-of-range parameter, bad body. */
export class ValidationError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 400, details);
  }
}

/** A well-formed request for something that does not exist (no data and no model for a symbol). */
export class NotFoundError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 404, details);
  }
}

/** A conflicting operation, e.g. a second training job for the same symbol. */
export class ConflictError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 409, details);
  }
}

/** A dependency needed for this answer is down and nothing usable is cached. */
export class UnavailableError extends AppError {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds = 30, details?: Record<string, unknown>) {
    super(message, 503, details);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Market data that cannot be trusted: unsorted, duplicate, missing or non-positive rows. */
export class DataValidationError extends AppError {
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(message: string, where: { file?: string; line?: number } = {}) {
    const location = where.file ? `${where.file}${where.line !== undefined ? `:${where.line}` : ''}: ` : '';
    super(`${location}${message}`, 422, { file: where.file, line: where.line });
    this.file = where.file;
    this.line = where.line;
  }
}

/** A model folder whose files do not match their recorded checksums, or that is incomplete. */
export class CorruptModelError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 500, details);
  }
}

/** The message of anything thrown, for logs and error bodies. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
