/** Runs `fn` for `key` unless a run for the same key is already in flight, in which case it joins that run. */
export type SingleFlight = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Collapses concurrent identical computations (e.g. 20 requests for the same uncached prediction)
 * into one. Only in-flight work is shared: once it settles, the next call runs `fn` again, so a
 * failure is not remembered.
 */
export function createSingleFlight(): SingleFlight {
  const inFlight = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const running = inFlight.get(key);
    if (running !== undefined) return running as Promise<T>;
    const started = (async () => fn())().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  };
}
