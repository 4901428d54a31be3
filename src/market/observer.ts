/**
 * What a provider reports about each `getBars` call, so the service can count data-source
 * fetches and errors (Prometheus) without the providers depending on a metrics library.
 */
export interface FetchEvent {
  /** Provider name: `csv` or `yahoo`. */
  readonly source: string;
  readonly symbol: string;
  readonly ok: boolean;
  /** Answered from the provider's cache (parsed-file memo for CSV, raw-response cache for Yahoo). */
  readonly cached: boolean;
  readonly durationMs: number;
  /**
   * Served from an expired cache entry because the source failed (Yahoo down): the answer is
   * older than the TTL promises, and the service should say so in its logs.
   */
  readonly stale?: boolean;
  /**
   * Error class name when `ok` is false (e.g. `NotFoundError`, `UnavailableError`), or the failure behind a
   * stale answer: a bounded label.
   */
  readonly error?: string;
}

export type FetchObserver = (event: FetchEvent) => void;

/** How the work tells `observed` where its answer came from. */
export interface FetchMarks {
  cached(): void;
  /** Served from an expired cache entry because the source failed with `failure` (an error class name). */
  stale(failure?: string): void;
}

/** Runs `work`, reporting its outcome to `observer`; the marks are read after the work settles. */
export async function observed<T>(
  observer: FetchObserver | undefined,
  base: { readonly source: string; readonly symbol: string },
  work: (marks: FetchMarks) => Promise<T>,
): Promise<T> {
  const started = performance.now();
  let cached = false;
  let stale = false;
  let failure: string | undefined;
  const marks: FetchMarks = {
    cached: () => (cached = true),
    stale: (error) => {
      stale = cached = true;
      failure = error;
    },
  };
  try {
    const result = await work(marks);
    const staleness = stale ? { stale, ...(failure === undefined ? {} : { error: failure }) } : {};
    observer?.({ ...base, ok: true, cached, ...staleness, durationMs: performance.now() - started });
    return result;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    observer?.({ ...base, ok: false, cached, durationMs: performance.now() - started, error: name });
    throw error;
  }
}
