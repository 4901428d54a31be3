import { ValidationError } from '../errors.js';

/** Too little history for the requested window, horizon or split: a caller problem, never a crash. */
export class InsufficientBarsError extends ValidationError {
  readonly required: number;
  readonly available: number;

  constructor(what: string, required: number, available: number) {
    super(`${what}: needs at least ${required} bars, got ${available}`, { required, available });
    this.required = required;
    this.available = available;
  }
}
