import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isErrorCode, statusOf } from '../../src/errors.js';
import { createRng, type Rng } from '../../src/ml/random.js';
import { repoRoot } from '../helpers/paths.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { startApp, type TestServer } from './fixtures.js';

/** Requests sent in all; bounded so the suite stays quick on a loaded machine. */
const FUZZ_REQUESTS = 1200;
const CONCURRENCY = 8;

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng.next() * items.length)] as T;

const PATHS = ['/api/v1/predict/NVDA', '/api/v1/historical/AAPL?days=5', '/api/v1/models', '/api/v1/models/MSFT', '/health', '/api/v1/stats', '/api/v1/jobs/x'];
const BAD_ESCAPES = ['%zz', '%', '%E0%A4%A', '%c0%af', '%%', '%g1', 'a%2', '%ff%fe', '%u0041'];
const NOISE = ['%', '\u0000', '\u0001', '\u007f', ' ', '\t', '"', '<', '{', '\\', '\u00ff', '%00', '..', '//', '?', '#', '\r', '\n'];

const request = (line: string, headers: readonly string[] = [], body = ''): string =>
  `${line}\r\n${['Host: 127.0.0.1', 'Connection: close', ...headers].join('\r\n')}\r\n\r\n${body}`;

/** One hostile request of each kind the 12,000-request fuzz run of issue 9 found answered in Fastify's own shape. */
function hostile(rng: Rng): string {
  const base = pick(rng, PATHS);
  switch (Math.floor(rng.next() * 9)) {
    case 0: // malformed percent-escape anywhere in the path
      return request(`GET ${base.split('?')[0]}/${pick(rng, BAD_ESCAPES)} HTTP/1.1`);
    case 1: // a path segment over the router's 100-character limit
      return request(`GET /api/v1/predict/${'A'.repeat(101 + Math.floor(rng.next() * 2000))} HTTP/1.1`);
    case 2: // headers over Node's 16 KB limit, in one header or in many
      return rng.next() < 0.5
        ? request(`GET ${base} HTTP/1.1`, [`X-Pad: ${'a'.repeat(17_000 + Math.floor(rng.next() * 10_000))}`])
        : request(`GET ${base} HTTP/1.1`, Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'b'.repeat(60)}`));
    case 3: // a URL longer than the header limit
      return request(`GET /api/v1/historical/NVDA?days=${'9'.repeat(17_000)} HTTP/1.1`);
    case 4: // malformed request lines
      return pick(rng, [
        'GET\r\n\r\n',
        `GET ${base}\r\nHost: x\r\n\r\n`,
        `G@T ${base} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `GET ${base} HTTP/9.9\r\nHost: x\r\n\r\n`,
        `GET ${base} HTTX/1.1\r\nHost: x\r\n\r\n`,
        `GET  ${base}  HTTP/1.1\r\nHost: x\r\n\r\n`,
        `${base} HTTP/1.1\r\nHost: x\r\n\r\n`,
        'FOO BAR BAZ QUX\r\n\r\n',
        '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003\r\n\r\n',
      ]);
    case 5: // malformed headers
      return request(`GET ${base} HTTP/1.1`, [
        pick(rng, ['Bad Header: x', 'NoColonHere', 'X-Ctl: a\u0000b', 'Content-Length: abc', 'Content-Length: 1\r\nContent-Length: 2', ': empty-name', 'X(y): z', ' folded: value', 'Transfer-Encoding: chunked\r\nContent-Length: 3', 'Transfer-Encoding: bogus']),
      ]);
    case 6: // bodies the routes refuse
      return pick(rng, [
        request('POST /api/v1/predict HTTP/1.1', ['Content-Type: application/json', 'Content-Length: 12'], '{"symbols":['),
        request('POST /api/v1/predict HTTP/1.1', ['Content-Type: text/xml', 'Content-Length: 4'], '<a/>'),
        request('POST /api/v1/predict HTTP/1.1', ['Content-Type: application/json', 'Content-Length: 0']),
        request('POST /api/v1/predict HTTP/1.1', ['Content-Type: application/json', 'Content-Length: 200000'], 'x'.repeat(200_000)),
        request('POST /api/v1/predict HTTP/1.1', ['Content-Type: application/json', 'Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n'),
        request('POST /api/v1/predict HTTP/1.1', ['Content-Type: application/json', 'Content-Length: 17'], '{"symbols":[123]}'),
      ]);
    case 7: // well-formed requests for what does not exist or is not allowed
      return request(
        pick(rng, ['GET /nope HTTP/1.1', 'DELETE /api/v1/models HTTP/1.1', 'GET /api/v1/predict/bad$ HTTP/1.1', 'GET /api/v1/predict/NVDA?days=99 HTTP/1.1', 'POST /api/v1/cache/clear HTTP/1.1', 'GET /api/v1/jobs/not-a-uuid HTTP/1.1']),
      );
    default: {
      // a request line with random noise spliced into the path
      const chars = [...base];
      for (let n = 1 + Math.floor(rng.next() * 3); n > 0; n -= 1) chars.splice(Math.floor(rng.next() * (chars.length + 1)), 0, pick(rng, NOISE));
      return request(`GET ${chars.join('')} HTTP/1.1`);
    }
  }
}

/** The contract: JSON `{error, status, code, timestamp}` with the HTTP status and the code's status, and a request id. */
function contractShaped(response: RawResponse): boolean {
  try {
    const body = JSON.parse(response.body) as Record<string, unknown>;
    return (
      /^application\/json/.test(response.headers['content-type'] ?? '') &&
      (response.headers['x-request-id'] ?? '').length > 0 &&
      typeof body['error'] === 'string' &&
      body['error'].length > 0 &&
      body['status'] === response.status &&
      isErrorCode(body['code']) &&
      statusOf(body['code']) === response.status &&
      typeof body['timestamp'] === 'string' &&
      !Number.isNaN(Date.parse(body['timestamp']))
    );
  } catch {
    return false;
  }
}

describe('hostile requests on a listening server (raw sockets, loopback)', () => {
  let server: TestServer;
  let port: number;
  let emptyModels: string;

  before(async () => {
    // The shipped models: the fuzzer needs a real service, not trained models of its own.
    emptyModels = await mkdtemp(path.join(tmpdir(), 'fuzz-'));
    const shipped = path.join(repoRoot, 'models');
    server = await startApp(
      { root: emptyModels, modelsDir: shipped, scalersDir: path.join(shipped, 'scalers'), cleanup: async () => undefined },
      await mkdtemp(path.join(tmpdir(), 'fuzz-data-')),
      { RATE_LIMIT_MAX: '1000000', HEADERS_TIMEOUT: '2' },
    );
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    const address = server.app.server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  after(async () => {
    await server.app.close();
    await rm(server.dataDir, { recursive: true, force: true });
    await rm(emptyModels, { recursive: true, force: true });
  });

  it('answers every one with the contract error body and an X-Request-Id (share of contract-shaped errors = 100 %)', async () => {
    const rng = createRng(20261130);
    const requests = Array.from({ length: FUZZ_REQUESTS }, () => hostile(rng));
    const failures: { request: string; response: RawResponse | undefined }[] = [];
    let errors = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < requests.length) {
        const sent = requests[next++] as string;
        const response = await rawRequest(port, Buffer.from(sent, 'latin1'));
        // A mutation that happens to be a valid request may succeed; only error answers are judged.
        if (response !== undefined && response.status < 400) continue;
        errors += 1;
        if (response === undefined || !contractShaped(response)) failures.push({ request: sent, response });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const share = (100 * (errors - failures.length)) / errors;
    console.log(`fuzz: ${FUZZ_REQUESTS} requests, ${errors} errors, ${errors - failures.length} contract-shaped (${share.toFixed(1)} %)`);
    const examples = failures.slice(0, 5).map((f) => `${JSON.stringify(f.request.slice(0, 120))} -> ${f.response ? `${f.response.status} ${f.response.body.slice(0, 200)}` : 'no answer'}`);
    assert.ok(errors > FUZZ_REQUESTS / 2, `most fuzzed requests are errors (${errors})`);
    assert.deepEqual(examples, [], `${failures.length} of ${errors} error answers were not contract-shaped`);
  });

  it('maps each kind to its own code: bad escape, long segment, oversized headers, broken request line', async () => {
    const cases: [string, number, string][] = [
      [request('GET /api/v1/predict/%zz HTTP/1.1'), 400, 'INVALID_URL'],
      [request(`GET /api/v1/predict/${'A'.repeat(101)} HTTP/1.1`), 414, 'URI_TOO_LONG'],
      [request('GET /api/v1/models HTTP/1.1', [`X-Pad: ${'a'.repeat(20_000)}`]), 431, 'HEADERS_TOO_LARGE'],
      ['G@T / HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'BAD_REQUEST'],
      // Headers that never end: answered when HEADERS_TIMEOUT (2 s here) runs out.
      ['GET /api/v1/models HTTP/1.1\r\nHost: x\r\n', 408, 'REQUEST_TIMEOUT'],
    ];
    for (const [sent, status, code] of cases) {
      const response = await rawRequest(port, sent);
      assert.ok(response, `${JSON.stringify(sent.slice(0, 60))}: an answer`);
      assert.equal(response.status, status, response.body);
      assert.ok(contractShaped(response), response.body);
      assert.equal((JSON.parse(response.body) as Record<string, unknown>)['code'], code);
    }
  });
});
