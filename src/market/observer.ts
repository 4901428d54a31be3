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
  /** Error class name when `ok` is false (e.g. `NotFoundError`, `UnavailableError`): a bounded label. */
  readonly error?: string;
}

export type FetchObserver = (event: FetchEvent) => void;

/** Runs `work`, reporting its outcome to `observer`; `cached` is read after the work settles. */
export async function observed<T>(
  observer: FetchObserver | undefined,
  base: { readonly source: string; readonly symbol: string },
  work: (markCached: () => void) => Promise<T>,
): Promise<T> {
  if (observer === undefined) return work(() => undefined);
  const started = performance.now();
  let cached = false;
  try {
    const result = await work(() => {
      cached = true;
    });
    observer({ ...base, ok: true, cached, durationMs: performance.now() - started });
    return result;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    observer({ ...base, ok: false, cached, durationMs: performance.now() - started, error: name });
    throw error;
  }
}
