import { catalogMessage, UnavailableError } from '../errors.js';

export interface ComputeAdmissionOptions {
  /** Requests computing uncached predictions at once; the next ones wait for a slot in arrival order. */
  readonly slots: number;
  /** A request that has waited this long for a slot is shed (0: admission control off, every request computes at once). */
  readonly maxQueueWaitMs: number;
  readonly retryAfterSeconds: number;
}

/** What /health reports about the prediction work in flight. */
export interface AdmissionState {
  readonly slots: number;
  readonly computing: number;
  readonly waiting: number;
  /** How long the oldest waiting request has waited (0 when none waits). */
  readonly oldestWaitMs: number;
  /** A request was shed within the last Retry-After period: the time shed clients were told the overload lasts. */
  readonly shedding: boolean;
}

interface Waiter {
  readonly since: number;
  readonly admit: () => void;
  readonly reject: (error: UnavailableError) => void;
  readonly timer: NodeJS.Timeout;
}

/** A request shed by admission control or by under-pressure: a batch containing one is shed as a whole. */
export function isOverloaded(error: unknown): error is UnavailableError {
  return error instanceof UnavailableError && error.code === 'OVERLOADED';
}

/**
 * Admission control on uncached prediction work. Computing a prediction is CPU work on the one JavaScript thread, so
 * requests admitted beyond a few at a time add no throughput: they share the CPU and all of them get slower (a batch
 * yields between its items, so the event loop never lags and under-pressure's delay check never sees it). Here a
 * request takes one of a few slots at its first cache miss and keeps it until it is answered; the next ones wait in
 * arrival order, and a request that waited longer than the budget is shed with 503 OVERLOADED + Retry-After. A
 * served request thus waits at most the budget before its work runs at near full speed, and answers from the cache
 * never take a slot, so they are never shed by it.
 */
export class ComputeAdmission {
  private computing = 0;
  /** Insertion-ordered: the first entry is the oldest waiter. */
  private readonly queue = new Set<Waiter>();
  private lastShedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: ComputeAdmissionOptions) {}

  get enabled(): boolean {
    return this.options.maxQueueWaitMs > 0;
  }

  /** One request's claim on a slot: taken at its first uncached prediction, held until `release()`. */
  ticket(): ComputeTicket {
    return new ComputeTicket(this);
  }

  /**
   * Resolves with a slot, or rejects with OVERLOADED once the request has waited longer than the budget since `since`
   * (when its handler started: time spent reaching its first cache miss in a busy event loop counts too).
   */
  take(since: number): Promise<void> {
    if (!this.enabled || this.computing < this.options.slots) {
      this.computing += 1;
      return Promise.resolve();
    }
    return new Promise((admit, reject) => {
      const left = this.options.maxQueueWaitMs - (performance.now() - since);
      const waiter: Waiter = { since, admit, reject, timer: setTimeout(() => this.shed(waiter), Math.max(0, left)) };
      this.queue.add(waiter);
    });
  }

  /**
   * Frees a slot: the oldest waiter within the budget gets it directly. Waiters past the budget are shed here too:
   * slots freed one after another in microtasks never let the timers run, so their deadline alone would come late.
   */
  give(): void {
    for (const waiter of this.queue) {
      if (performance.now() - waiter.since > this.options.maxQueueWaitMs) {
        this.shed(waiter);
        continue;
      }
      this.queue.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.admit();
      return;
    }
    this.computing -= 1;
  }

  state(): AdmissionState {
    const now = performance.now();
    const oldest = this.queue.values().next();
    return {
      slots: this.options.slots,
      computing: this.computing,
      waiting: this.queue.size,
      oldestWaitMs: oldest.done === true ? 0 : now - oldest.value.since,
      shedding: now - this.lastShedAt < this.options.retryAfterSeconds * 1000,
    };
  }

  private shed(waiter: Waiter): void {
    this.queue.delete(waiter);
    clearTimeout(waiter.timer);
    const waited = `waited ${Math.round(performance.now() - waiter.since)} ms for one of ${this.options.slots} prediction slots > ${this.options.maxQueueWaitMs} ms`;
    waiter.reject(new UnavailableError(catalogMessage('OVERLOADED', waited), this.options.retryAfterSeconds, { reason: 'queue_wait' }, 'OVERLOADED'));
    this.lastShedAt = performance.now();
  }
}

/** A request's slot, taken lazily by its first uncached prediction (a batch's items share it). */
export class ComputeTicket {
  private readonly since = performance.now();
  private slot: Promise<void> | undefined;
  private held = false;

  constructor(private readonly admission: ComputeAdmission) {}

  acquire(): Promise<void> {
    this.slot ??= this.admission.take(this.since).then(() => {
      this.held = true;
    });
    return this.slot;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.admission.give();
  }
}
