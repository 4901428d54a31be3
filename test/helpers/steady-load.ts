import http from 'node:http';

/** One request of the load: when it finished, what it asked, and its status or its transport error. */
export interface LoadOutcome {
  readonly client: number;
  /** `Date.now()` when the answer (or the error) arrived. */
  readonly at: number;
  readonly path: string;
  readonly status?: number;
  readonly error?: string;
}

export interface LoadReport {
  readonly outcomes: readonly LoadOutcome[];
  /** Answers with a 2xx status. */
  readonly ok: number;
  /** Everything else: non-2xx statuses and transport errors (reset, refused, timed out). */
  readonly failures: readonly LoadOutcome[];
}

export interface SteadyLoad {
  /** Answers (2xx) that arrived at or after `since` (ms since the epoch). */
  okSince(since: number): number;
  /** Stops sending, waits for the requests in flight, and reports every outcome. */
  stop(): Promise<LoadReport>;
}

export interface SteadyLoadOptions {
  /** Concurrent clients, each on its own loopback source address (127.0.0.2, .3, ...): nginx limits per address. */
  readonly clients: number;
  /** Requests per second per client (each client sends one at a time, paced to this rate). */
  readonly ratePerClient: number;
  /** The path (and query) of a client's n-th request. */
  readonly path: (client: number, n: number) => string;
  /** A request unanswered after this long counts as failed (default 30 s). */
  readonly timeoutMs?: number;
}

function request(agent: http.Agent, base: URL, path: string, timeoutMs: number): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get({ agent, host: base.hostname, port: base.port, path, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.once('error', (error) => resolve({ error: error.message }));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (error) => resolve({ error: error.message }));
  });
}

/**
 * A steady load of GET requests on `base` from several clients with keep-alive connections, counting every
 * answer: what a load balancer's users would see.
 */
export function startSteadyLoad(base: string, options: SteadyLoadOptions): SteadyLoad {
  const target = new URL(base);
  const outcomes: LoadOutcome[] = [];
  const intervalMs = 1000 / options.ratePerClient;
  let running = true;
  const client = async (index: number): Promise<void> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: `127.0.0.${index + 2}` });
    for (let n = 0; running; n += 1) {
      const started = Date.now();
      const path = options.path(index, n);
      const result = await request(agent, target, path, options.timeoutMs ?? 30_000);
      outcomes.push({ client: index, at: Date.now(), path, ...result });
      const wait = intervalMs - (Date.now() - started);
      if (wait > 0 && running) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    agent.destroy();
  };
  const clients = Array.from({ length: options.clients }, (_, index) => client(index));
  const isOk = (o: LoadOutcome): boolean => o.status !== undefined && o.status >= 200 && o.status < 300;
  return {
    okSince: (since) => outcomes.filter((o) => o.at >= since && isOk(o)).length,
    async stop() {
      running = false;
      await Promise.all(clients);
      return { outcomes, ok: outcomes.filter(isOk).length, failures: outcomes.filter((o) => !isOk(o)) };
    },
  };
}
