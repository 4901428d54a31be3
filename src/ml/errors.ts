import { AppError } from '../errors.js';

/** Too little history for the requested window, horizon or split: a caller problem, never a crash. */
export class InsufficientBarsError extends AppError {
  readonly required: number;
  readonly available: number;

  constructor(what: string, required: number, available: number) {
    super('INSUFFICIENT_HISTORY', `${what}: needs at least ${required} bars, got ${available}`, { required, available });
    this.required = required;
    this.available = available;
  }
}
