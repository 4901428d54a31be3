import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DataValidationError, NotFoundError, UnavailableError } from '../../src/errors.js';
import type { Bar } from '../../src/market/bar.js';
import { CsvMarketData } from '../../src/market/csv.js';
import { createMarketDataProvider } from '../../src/market/factory.js';
import type { FetchEvent } from '../../src/market/observer.js';
import { RequestPacer } from '../../src/market/rate-limit.js';
import { YahooChartProvider, type YahooChartProviderOptions } from '../../src/market/yahoo.js';
import { send, startFixtureServer, type FixtureServer } from '../helpers/http-fixture-server.js';
import { sampleDir, yahooFixturesDir } from '../helpers/paths.js';

const FIXTURES = {
  AAPL: 'chart_AAPL_1d_2020-08-31_2020-11-06.json',
  NVDA: 'chart_NVDA_1d_2021-02-01_2022-01-28.json',
  MSFT: 'chart_MSFT_1d_2021-02-01_2022-01-28.json',
} as const;
type FixtureSymbol = keyof typeof FIXTURES;

const fixtureText: Record<string, string> = {};
let notFoundBody = '';
let server: FixtureServer;
let cacheRoot: string;
const csv = new CsvMarketData({ directory: sampleDir });

/** Serves the recorded body for `/v8/finance/chart/<SYMBOL>` and the recorded 404 for any other symbol. */
function serveRecorded(): void {
  server.handle((request, response) => {
    const symbol = /\/v8\/finance\/chart\/([^?]+)/.exec(request.url)?.[1] ?? '';
    const body = fixtureText[symbol];
    if (body === undefined) send(response, 404, notFoundBody);
    else send(response, 200, body);
  });
}

let cacheCounter = 0;
function provider(overrides: Partial<YahooChartProviderOptions> = {}): YahooChartProvider {
  cacheCounter += 1;
  return new YahooChartProvider({
    baseUrl: server.baseUrl,
    timeoutMs: 2000,
    maxRetries: 2,
    requestsPerSecond: 100,
    cacheDir: path.join(cacheRoot, `cache-${cacheCounter}`),
    ttlSeconds: 3600,
    userAgent: 'stock-prediction-test/1',
    retryBaseDelayMs: 10,
    ...overrides,
  });
}

/** A recorded body with `edit` applied to its single result. */
function editedFixture(symbol: FixtureSymbol, edit: (result: ChartResult) => void): string {
  const body = JSON.parse(fixtureText[symbol] ?? '') as { chart: { result: ChartResult[] } };
  const result = body.chart.result[0];
  assert.ok(result);
  edit(result);
  return JSON.stringify(body);
}
interface ChartResult {
  timestamp: number[];
  indicators: { quote: Record<string, (number | null)[]>[]; adjclose: { adjclose: (number | null)[] }[] };
}

function ratios(ours: readonly Bar[], reference: readonly Bar[], field: 'adjClose' | 'close' | 'open' | 'high' | 'low'): number[] {
  return ours.map((bar, index) => (reference[index]?.[field] ?? NaN) / bar[field]);
}

function assertConstant(values: number[], expected: number, label: string): void {
  const min = Math.min(...values);
  const max = Math.max(...values);
  assert.ok((max - min) / min < 2e-5, `${label}: ratio varies from ${min} to ${max}`);
  assert.ok(Math.abs(min - expected) < 1e-4, `${label}: ratio ${min}, expected about ${expected}`);
}

before(async () => {
  for (const [symbol, file] of Object.entries(FIXTURES)) fixtureText[symbol] = await readFile(path.join(yahooFixturesDir, file), 'utf8');
  notFoundBody = await readFile(path.join(yahooFixturesDir, 'chart_error_404_not_found.json'), 'utf8');
  cacheRoot = await mkdtemp(path.join(tmpdir(), 'yahoo-cache-'));
  server = await startFixtureServer(() => undefined);
});
after(async () => {
  await server.close();
  await rm(cacheRoot, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
  serveRecorded();
});

describe('YahooChartProvider on recorded real responses', () => {
  // Constant factors from test/fixtures/yahoo/SOURCES.md (dividends paid after the recording).
  const cases: [FixtureSymbol, number, string, string, number][] = [
    ['AAPL', 49, '2020-08-31', '2020-11-06', 0.99756],
    ['NVDA', 252, '2021-02-01', '2022-01-28', 0.99978],
    ['MSFT', 252, '2021-02-01', '2022-01-28', 0.99653],
  ];
  for (const [symbol, count, first, last, factor] of cases) {
    it(`${symbol}: ${count} bars on the CSV's trading dates, on the CSV's price basis`, async () => {
      const bars = await provider().getBars(symbol, { from: first, to: last });
      assert.equal(bars.length, count);
      const reference = await csv.getBars(symbol, { from: first, to: last });
      // Dates come from timestamps converted in America/New_York, across the DST change for AAPL.
      assert.deepEqual(bars.map((bar) => bar.date), reference.map((bar) => bar.date));
      assertConstant(ratios(bars, reference, 'adjClose'), factor, `${symbol} adjClose`);
      // open/high/low/close are scaled onto the same adjusted basis as the CSVs.
      for (const field of ['close', 'open', 'high', 'low'] as const) assertConstant(ratios(bars, reference, field), factor, `${symbol} ${field}`);
      const request = server.requests[0];
      assert.ok(request);
      assert.match(request.url, new RegExp(`^/v8/finance/chart/${symbol}\\?interval=1d&`));
      assert.match(request.url, /period1=\d+&period2=\d+/);
      assert.equal(request.headers['user-agent'], 'stock-prediction-test/1');
    });
  }

  it('asks for the whole history with range=max when no dates are given', async () => {
    const bars = await provider().getBars('NVDA');
    assert.equal(bars.length, 252);
    assert.match(server.requests[0]?.url ?? '', /range=max/);
  });

  it('answers the recorded 404 error body with NotFoundError, without retrying', async () => {
    await assert.rejects(provider().getBars('INVALID.BO'), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.match(error.message, /No data found, symbol may be delisted/);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });
});

describe('YahooChartProvider on malformed bodies derived from the fixtures', () => {
  it('skips bars holding nulls (halted day, forming bar) and keeps the rest', async () => {
    server.handle((_, response) =>
      send(
        response,
        200,
        editedFixture('AAPL', (result) => {
          const quote = result.indicators.quote[0] ?? {};
          (quote.close ?? [])[5] = null;
          for (const series of Object.values(quote)) series[10] = null;
          (result.indicators.adjclose[0]?.adjclose ?? [])[20] = null;
        }),
      ),
    );
    const bars = await provider().getBars('AAPL');
    const all = await csv.getBars('AAPL', { from: '2020-08-31', to: '2020-11-06' });
    const dropped = [5, 10, 20].map((index) => all[index]?.date);
    assert.equal(bars.length, 46);
    assert.deepEqual(bars.map((bar) => bar.date), all.map((bar) => bar.date).filter((date) => !dropped.includes(date)));
  });

  it('replaces a forming last bar on the same trading date, but rejects duplicates elsewhere', async () => {
    const liveBar = editedFixture('AAPL', (result) => {
      const lastTimestamp = result.timestamp.at(-1) ?? 0;
      result.timestamp.push(lastTimestamp + 3600);
      for (const series of Object.values(result.indicators.quote[0] ?? {})) series.push(series.at(-1) ?? null);
      result.indicators.adjclose[0]?.adjclose.push(119);
    });
    server.handle((_, response) => send(response, 200, liveBar));
    const bars = await provider().getBars('AAPL');
    assert.equal(bars.length, 49);
    assert.equal(bars.at(-1)?.adjClose, 119);

    const duplicate = editedFixture('AAPL', (result) => {
      result.timestamp[3] = result.timestamp[2] ?? 0;
    });
    server.handle((_, response) => send(response, 200, duplicate));
    await assert.rejects(provider().getBars('AAPL'), /bar 3: duplicate date 2020-09-02/);
  });

  const failures: [string, () => [number, string, string?], new (...args: never[]) => Error, RegExp][] = [
    ['empty result', () => [200, '{"chart":{"result":[],"error":null}}'], DataValidationError, /empty result/],
    ['null result without error', () => [200, '{"chart":{"result":null,"error":null}}'], DataValidationError, /empty result/],
    [
      'HTML instead of JSON',
      () => [200, '<!DOCTYPE html><html><body>Will be right back</body></html>', 'text/html; charset=utf-8'],
      UnavailableError,
      /HTML instead of JSON/,
    ],
    ['truncated JSON', () => [200, (fixtureText.AAPL ?? '').slice(0, 3000)], UnavailableError, /malformed JSON body/],
    [
      'series shorter than the timestamps',
      () => [200, editedFixture('AAPL', (result) => result.indicators.quote[0]?.close?.pop())],
      DataValidationError,
      /close has 48 values for 49 timestamps/,
    ],
    [
      'missing adjclose',
      () => [200, editedFixture('AAPL', (result) => (result.indicators.adjclose = []))],
      DataValidationError,
      /adjclose series is missing/,
    ],
    [
      'non-positive price',
      () => [200, editedFixture('MSFT', (result) => ((result.indicators.quote[0]?.low ?? [])[7] = 0))],
      DataValidationError,
      /bar 7 \(2021-02-10\): low must be positive/,
    ],
    ['a 403 page', () => [403, '{"finance":{"error":{"code":"Forbidden"}}}'], UnavailableError, /HTTP 403/],
  ];
  for (const [name, reply, type, message] of failures) {
    it(`turns ${name} into ${type.name}`, async () => {
      const [status, body, contentType] = reply();
      server.handle((_, response) => send(response, status, body, contentType));
      await assert.rejects(provider().getBars('AAPL'), (error: unknown) => {
        assert.ok(error instanceof type, `got ${String(error)}`);
        assert.match((error as Error).message, message);
        return true;
      });
      assert.equal(server.requests.length, 1, 'not retried');
    });
  }

  it('retries a 500 and succeeds on the next attempt', async () => {
    server.handle((_, response, index) => {
      if (index === 0) send(response, 500, '{"error":"internal"}');
      else send(response, 200, fixtureText.MSFT ?? '');
    });
    const bars = await provider().getBars('MSFT');
    assert.equal(bars.length, 252);
    assert.equal(server.requests.length, 2);
  });

  it('gives up with UnavailableError after maxRetries on a persistent 503 or 429', async () => {
    server.handle((_, response, index) => send(response, index % 2 === 0 ? 503 : 429, '{}'));
    await assert.rejects(provider({ maxRetries: 2 }).getBars('MSFT'), (error: unknown) => {
      assert.ok(error instanceof UnavailableError);
      assert.match(error.message, /after 3 attempt\(s\): HTTP 503/);
      return true;
    });
    assert.equal(server.requests.length, 3);
  });

  it('times out a slow server and reports the timeout', async () => {
    server.handle((_, response) => {
      const timer = setTimeout(() => send(response, 200, fixtureText.MSFT ?? ''), 3000);
      response.on('close', () => clearTimeout(timer));
    });
    await assert.rejects(provider({ timeoutMs: 150, maxRetries: 1 }).getBars('MSFT'), /after 2 attempt\(s\): timed out after 150 ms/);
    assert.equal(server.requests.length, 2);
  });

  it('reports an unreachable server as UnavailableError', async () => {
    const closed = await startFixtureServer(() => undefined);
    await closed.close();
    await assert.rejects(provider({ baseUrl: closed.baseUrl, maxRetries: 0 }).getBars('MSFT'), (error: unknown) => {
      assert.ok(error instanceof UnavailableError);
      assert.match(error.message, /network error/);
      return true;
    });
  });
});

describe('YahooChartProvider raw-response cache', () => {
  it('serves a second call within the TTL without a request, also from a new instance', async () => {
    const events: FetchEvent[] = [];
    const cacheDir = path.join(cacheRoot, 'shared-cache');
    const options = { cacheDir, onFetch: (event: FetchEvent) => events.push(event) };
    const first = await provider(options).getBars('NVDA', { from: '2021-06-01' });
    const second = await provider(options).getBars('NVDA', { from: '2021-06-01' });
    assert.deepEqual(second, first);
    assert.equal(server.requests.length, 1);
    assert.deepEqual(
      events.map((event) => [event.source, event.symbol, event.ok, event.cached]),
      [
        ['yahoo', 'NVDA', true, false],
        ['yahoo', 'NVDA', true, true],
      ],
    );
    assert.equal((await readdir(cacheDir)).filter((name) => name.endsWith('.json')).length, 1);
  });

  it('makes one request for concurrent reads of the same chart', async () => {
    const yahoo = provider();
    const results = await Promise.all(Array.from({ length: 10 }, () => yahoo.getBars('MSFT')));
    assert.ok(results.every((bars) => bars.length === 252));
    assert.equal(server.requests.length, 1);
  });

  it('fetches again once the TTL has passed, and never caches failures', async () => {
    const cacheDir = path.join(cacheRoot, 'short-ttl');
    const yahoo = provider({ cacheDir, ttlSeconds: 0.2 });
    await yahoo.getBars('MSFT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await yahoo.getBars('MSFT');
    assert.equal(server.requests.length, 2);

    const events: FetchEvent[] = [];
    const failing = provider({ onFetch: (event) => events.push(event) });
    await assert.rejects(failing.getBars('NOPE'), NotFoundError);
    await assert.rejects(failing.getBars('NOPE'), NotFoundError);
    assert.equal(server.requests.length, 4);
    assert.deepEqual(events.map((event) => [event.ok, event.error]), [
      [false, 'NotFoundError'],
      [false, 'NotFoundError'],
    ]);
  });
});

describe('YahooChartProvider when Yahoo is down', () => {
  it('serves an expired cached response, marked stale, rather than failing', async () => {
    const events: FetchEvent[] = [];
    const yahoo = provider({ ttlSeconds: 0.2, staleIfErrorSeconds: 60, maxRetries: 1, onFetch: (event) => events.push(event) });
    const fresh = await yahoo.getBars('NVDA');
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.handle((_, response) => send(response, 503, '<html>unavailable</html>', 'text/html'));
    assert.deepEqual(await yahoo.getBars('NVDA'), fresh);
    assert.equal(server.requests.length, 3, 'one fetch, then two failed attempts before falling back');
    assert.deepEqual(events.map((event) => [event.ok, event.cached, event.stale]), [
      [true, false, undefined],
      [true, true, true],
    ]);
    // Without a cached body there is nothing to fall back on.
    await assert.rejects(yahoo.getBars('MSFT'), UnavailableError);
  });

  for (const [what, body, contentType] of [
    ['an HTML page', '<!doctype html><html><body>consent</body></html>', 'text/html'],
    ['garbage', 'a\u0000b{{{', 'application/json'],
    ['JSON of the wrong shape', '{"quoteResponse":{"result":[],"error":null}}', 'application/json'],
  ] as const) {
    it(`falls back to the expired cached response when an HTTP 200 carries ${what}, as for a 500`, async () => {
      const events: FetchEvent[] = [];
      const yahoo = provider({ ttlSeconds: 0.2, staleIfErrorSeconds: 60, onFetch: (event) => events.push(event) });
      const fresh = await yahoo.getBars('NVDA');
      await new Promise((resolve) => setTimeout(resolve, 300));
      server.handle((_, response) => send(response, 200, body, contentType));
      assert.deepEqual(await yahoo.getBars('NVDA'), fresh);
      const stale = events.at(-1);
      assert.equal(stale?.stale, true);
      assert.match(stale?.error ?? '', /UnavailableError|DataValidationError/);
    });
  }

  it('gives up within the fetch budget on an upstream that answers only after 30 s', async () => {
    server.handle((_, response) => {
      const timer = setTimeout(() => send(response, 200, fixtureText.MSFT ?? ''), 30_000);
      response.on('close', () => clearTimeout(timer));
    });
    const started = performance.now();
    await assert.rejects(provider({ timeoutMs: 10_000, maxRetries: 3, budgetMs: 500 }).getBars('MSFT'), (error: unknown) => {
      assert.ok(error instanceof UnavailableError);
      assert.match(error.message, /within the 500 ms fetch budget: timed out/);
      return true;
    });
    // Generous bound: the point is "not held 30 s (or 4 x 10 s)".
    assert.ok(performance.now() - started < 10_000, `took ${Math.round(performance.now() - started)} ms`);
  });

  it('does not hide a missing symbol behind a stale answer', async () => {
    const yahoo = provider({ ttlSeconds: 0.2 });
    await yahoo.getBars('MSFT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.handle((_, response) => send(response, 404, notFoundBody));
    await assert.rejects(yahoo.getBars('MSFT'), NotFoundError);
  });
});

describe('RequestPacer', () => {
  it('lets a burst through, then paces calls at the configured rate', async () => {
    const pacer = new RequestPacer({ ratePerSecond: 20, burst: 2 });
    const started = performance.now();
    for (let call = 0; call < 6; call += 1) await pacer.take();
    // 2 immediately, then 4 more at 20/s: at least ~200 ms (only a lower bound: machines are noisy).
    assert.ok(performance.now() - started >= 180, `6 calls took ${performance.now() - started} ms`);
  });

  it('serves refreshes ahead of waiting lookups, and refuses lookups beyond its queue bound at once', async () => {
    const pacer = new RequestPacer({ ratePerSecond: 20, burst: 1, maxQueuedLookups: 3 });
    await pacer.take('lookup');
    const order: string[] = [];
    const lookups = [1, 2, 3].map((n) => pacer.take('lookup').then(() => order.push(`lookup${n}`)));
    await assert.rejects(pacer.take('lookup'), (error: unknown) => error instanceof UnavailableError && /too many new symbols/.test(error.message));
    const refresh = pacer.take('refresh').then(() => order.push('refresh'));
    await Promise.all([...lookups, refresh]);
    assert.deepEqual(order, ['refresh', 'lookup1', 'lookup2', 'lookup3']);
  });

  it('refuses at once a caller whose turn would come after its deadline', async () => {
    const pacer = new RequestPacer({ ratePerSecond: 1, burst: 1 });
    await pacer.take('refresh');
    await assert.rejects(pacer.take('lookup', performance.now() + 100), (error: unknown) => error instanceof UnavailableError && /fetch budget/.test(error.message));
    assert.deepEqual(pacer.queued, { refresh: 0, lookup: 0 });
  });
});

describe('createMarketDataProvider', () => {
  it('builds the CSV provider by default and, for DATA_SOURCE=yahoo, Yahoo feeding the stored history', async () => {
    const base = { historicalDir: sampleDir, stockDataCacheDir: path.join(cacheRoot, 'factory'), stockDataTtlSeconds: 60 };
    const offline = createMarketDataProvider({ ...base, source: 'csv' });
    assert.equal(offline.name, 'csv');
    assert.ok((await offline.listSymbols()).includes('NVDA'));
    const historicalDir = path.join(cacheRoot, 'factory-historical');
    const online = createMarketDataProvider({ ...base, historicalDir, source: 'yahoo', yahoo: { baseUrl: server.baseUrl } });
    assert.equal(online.name, 'yahoo');
    assert.equal((await online.getBars('MSFT')).length, 252);
    assert.deepEqual(await online.listSymbols(), ['MSFT'], 'the fetched bars are stored');
    assert.equal((await new CsvMarketData({ directory: historicalDir }).getBars('MSFT')).length, 252);
  });
});
