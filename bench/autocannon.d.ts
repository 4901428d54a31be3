declare module 'autocannon' {
  interface Histogram {
    readonly average: number;
    readonly mean: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  }

  interface RequestParams {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  }

  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    pipelining?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Requests sent in turn on each connection; setupRequest may rewrite each one before it is sent. */
    requests?: { method?: string; headers?: Record<string, string>; body?: string; setupRequest?: (request: RequestParams) => RequestParams }[];
    /** Seconds before a request counts as timed out. */
    timeout?: number;
  }

  interface Result {
    readonly requests: Histogram & { readonly total: number; readonly sent: number };
    readonly latency: Histogram;
    readonly throughput: Histogram;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly '2xx': number;
    readonly statusCodeStats?: Readonly<Record<string, { readonly count: number }>>;
    readonly duration: number;
  }

  /** The running load (with a callback): emits each response with its status and latency in ms. */
  interface Instance {
    on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): Instance;
  }

  // The promise form last: ReturnType<typeof autocannon> reads the last overload.
  export default function autocannon(options: Options, callback: (error: Error | null, result: Result) => void): Instance;
  export default function autocannon(options: Options): Promise<Result>;
}
