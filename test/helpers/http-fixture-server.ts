import http from 'node:http';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, e.g. `/v8/finance/chart/AAPL?interval=1d&range=max`. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

export type FixtureHandler = (request: RecordedRequest, response: http.ServerResponse, index: number) => void;

export interface FixtureServer {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Replaces the handler for the next requests. */
  handle(handler: FixtureHandler): void;
  close(): Promise<void>;
}

/** A real HTTP server on a free loopback port, answering with whatever the test's handler writes. */
export async function startFixtureServer(handler: FixtureHandler): Promise<FixtureServer> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const recorded = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    requests.push(recorded);
    current(recorded, res, requests.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes a JSON (or any text) body with a status and content type. */
export function send(response: http.ServerResponse, status: number, body: string, contentType = 'application/json;charset=utf-8'): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
