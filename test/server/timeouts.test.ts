import assert from 'node:assert/strict';
import net from 'node:net';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { TIMEOUT_CHECK_INTERVAL_MS } from '../../src/server/app.js';
import { freePort } from '../helpers/free-port.js';
import { API_KEY, makeDataDir, startApp, withTinyModels } from './fixtures.js';

interface Cutoff {
  /** Milliseconds from connect until the server closed the connection. */
  readonly afterMs: number;
  /** What the server wrote before closing. */
  readonly reply: string;
}

/**
 * A raw client that writes `first`, then `drip` every 300 ms (never completing the request), until the server
 * closes the connection or `giveUpMs` passes (then the test fails: the server never cut it off).
 */
function slowClient(port: number, first: string, drip: string, giveUpMs: number): Promise<Cutoff> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const t0 = Date.now();
    let reply = '';
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`the server kept a slow client connected for ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('connect', () => {
      socket.write(first);
      timer = setInterval(() => {
        if (!socket.destroyed && socket.writable) socket.write(drip);
      }, 300);
    });
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ afterMs: Date.now() - t0, reply });
    });
  });
}

describe('server timeouts (real listening server, raw sockets)', () => {
  const models = withTinyModels(['nvda']);
  const HEADERS_S = 2;
  const REQUEST_S = 3;
  const KEEP_ALIVE_S = 1;

  it('cuts off a slow-loris client at HEADERS_TIMEOUT, a dribbled body at REQUEST_TIMEOUT (408), an idle keep-alive at KEEP_ALIVE_TIMEOUT', async (t) => {
    const dataDir = await makeDataDir();
    const { app } = await startApp(models(), dataDir, { HEADERS_TIMEOUT: `${HEADERS_S}s`, REQUEST_TIMEOUT: `${REQUEST_S}s`, KEEP_ALIVE_TIMEOUT: `${KEEP_ALIVE_S}s` });
    // after-hooks run in the order they were added: the app is closed before its data directory is removed
    t.after(() => app.close());
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    await app.listen({ port, host: '127.0.0.1' });
    // The documented bound: the timeout, plus at most one deadline check; generous slack for a loaded machine.
    const slack = TIMEOUT_CHECK_INTERVAL_MS + 15_000;

    const [loris, body, idle, healthy] = await Promise.all([
      // Headers that never end: one more header line every 300 ms.
      slowClient(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', HEADERS_S * 1000 + slack),
      // Complete headers, then a body that never completes.
      slowClient(port, `POST /api/v1/models/reload HTTP/1.1\r\nHost: x\r\nX-API-Key: ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`, ' ', REQUEST_S * 1000 + slack),
      // One complete request on a keep-alive connection, then silence.
      slowClient(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n', '', KEEP_ALIVE_S * 1000 + slack),
      // Meanwhile a normal client is answered at once.
      fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.status),
    ]);
    t.diagnostic(`slow-loris cut off after ${loris.afterMs} ms (HEADERS_TIMEOUT ${HEADERS_S} s), dribbled body after ${body.afterMs} ms (REQUEST_TIMEOUT ${REQUEST_S} s), idle keep-alive after ${idle.afterMs} ms (KEEP_ALIVE_TIMEOUT ${KEEP_ALIVE_S} s)`);
    assert.equal(healthy, 200);
    assert.ok(loris.afterMs >= HEADERS_S * 1000, `not before HEADERS_TIMEOUT (${loris.afterMs} ms)`);
    assert.match(loris.reply, /^HTTP\/1\.1 408 /, loris.reply);
    assert.ok(body.afterMs >= REQUEST_S * 1000, `not before REQUEST_TIMEOUT (${body.afterMs} ms): ${body.reply}`);
    assert.match(body.reply, /^HTTP\/1\.1 408 /, body.reply);
    assert.match(idle.reply, /^HTTP\/1\.1 200 /);
    assert.ok(idle.afterMs >= KEEP_ALIVE_S * 1000, `the answered keep-alive connection stays open KEEP_ALIVE_TIMEOUT (${idle.afterMs} ms)`);
  });

  it('refuses a headers timeout above the request timeout, and 0 (no limit), with one line naming the variable', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config/env.js');
    assert.throws(() => loadConfig({ HEADERS_TIMEOUT: '40s', REQUEST_TIMEOUT: '30s' }), (e: unknown) => e instanceof ConfigError && e.variable === 'HEADERS_TIMEOUT');
    assert.throws(() => loadConfig({ REQUEST_TIMEOUT: '0' }), (e: unknown) => e instanceof ConfigError && e.variable === 'REQUEST_TIMEOUT');
    const defaults = loadConfig({}).server;
    assert.deepEqual(defaults, { headersTimeoutSeconds: 10, requestTimeoutSeconds: 30, keepAliveTimeoutSeconds: 72, connectionTimeoutSeconds: 120 });
  });
});
