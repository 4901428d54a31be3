import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DataValidationError, NotFoundError, UnavailableError } from '../../src/errors.js';
import type { Bar } from '../../src/market/bar.js';
import { parseBarsCsv } from '../../src/market/csv.js';
import { formatBarsCsv, HistoricalStore } from '../../src/market/historical-store.js';
import { mergeHistory } from '../../src/market/merge.js';
import { StoredHistoryProvider, type RefreshEvent } from '../../src/market/stored-history.js';
import { YahooChartProvider } from '../../src/market/yahoo.js';
import { send, startFixtureServer, type FixtureServer } from '../helpers/http-fixture-server.js';
import { barsBetween, firstBars, readRecorded, rebased } from '../helpers/yahoo-fixtures.js';

const bar = (date: string, close: number, volume = 1000): Bar => ({ date, open: close, high: close + 1, low: close - 1, close, adjClose: close, volume });

describe('mergeHistory', () => {
  it('appends new dates, lets fetched bars win on common dates, and never duplicates', () => {
    const stored = [bar('2024-01-02', 10), bar('2024-01-03', 11), bar('2024-01-04', 12)];
    const fetched = [bar('2024-01-03', 11), bar('2024-01-04', 12.5), bar('2024-01-05', 13)];
    const merged = mergeHistory(stored, fetched, 'X');
    assert.deepEqual(merged.bars.map((b) => [b.date, b.close]), [['2024-01-02', 10], ['2024-01-03', 11], ['2024-01-04', 12.5], ['2024-01-05', 13]]);
    assert.equal(merged.added, 1);
    assert.equal(merged.updated, 1, 'the corrected bar of 2024-01-04');
    assert.equal(merged.rescaled, undefined);
  });

  it('rescales the kept stored bars onto the fetched basis after a dividend or a split', () => {
    const stored = [bar('2024-01-02', 100, 500), bar('2024-01-03', 110, 600), bar('2024-01-04', 120, 700)];
    // A 2:1 split after the history was stored: the source now gives half the price and twice the volume.
    const fetched = [bar('2024-01-03', 55, 1200), bar('2024-01-04', 60, 1400), bar('2024-01-05', 61, 1500)];
    const merged = mergeHistory(stored, fetched, 'X');
    assert.deepEqual(merged.rescaled, { price: 0.5, volume: 2 });
    const first = merged.bars[0];
    assert.deepEqual(first, { date: '2024-01-02', open: 50, high: 50.5, low: 49.5, close: 50, adjClose: 50, volume: 1000 });
    assert.equal(merged.bars.length, 4);
  });

  it('refuses to join histories without a common date (their basis cannot be checked)', () => {
    assert.throws(() => mergeHistory([bar('2024-01-02', 10)], [bar('2024-02-01', 20)], 'X'), DataValidationError);
  });
});

describe('HistoricalStore', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'historical-store-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('writes merged bars as the CSV the csv source reads, atomically, and serializes concurrent merges', async () => {
    const store = new HistoricalStore(path.join(root, 'historical'));
    assert.equal(await store.read('X'), undefined);
    await Promise.all([
      store.merge('X', [bar('2024-01-02', 10), bar('2024-01-03', 11)]),
      store.merge('X', [bar('2024-01-03', 11), bar('2024-01-04', 12)]),
      store.merge('X', [bar('2024-01-04', 12), bar('2024-01-05', 13)]),
    ]);
    const text = await readFile(path.join(root, 'historical', 'X.csv'), 'utf8');
    assert.deepEqual(parseBarsCsv(text, 'X.csv').map((b) => b.date), ['2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05']);
    assert.equal(text, formatBarsCsv(parseBarsCsv(text, 'X.csv')), 'numbers round-trip exactly');
    assert.deepEqual(await readdir(path.join(root, 'historical')), ['X.csv'], 'no temporary file left behind');
    assert.deepEqual(await store.listSymbols(), ['X']);
  });
});

describe('StoredHistoryProvider over Yahoo (recorded responses on a local server)', () => {
  let server: FixtureServer;
  let root: string;
  let nvda: string;
  let notFound: string;
  let body: string;
  let counter = 0;

  before(async () => {
    nvda = await readRecorded('NVDA');
    notFound = await readRecorded('notFound');
    root = await mkdtemp(path.join(tmpdir(), 'stored-history-'));
    server = await startFixtureServer(() => undefined);
  });
  after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.requests.length = 0;
    body = nvda;
    server.handle((request, response) => {
      if (request.url.startsWith('/v8/finance/chart/NVDA?')) send(response, 200, body);
      else send(response, 404, notFound);
    });
  });

  function setup(overrides: { refreshAfterMs?: number; budgetMs?: number } = {}) {
    counter += 1;
    const dir = path.join(root, `case-${counter}`);
    const events: RefreshEvent[] = [];
    const store = new HistoricalStore(path.join(dir, 'historical'));
    const provider = new StoredHistoryProvider({
      store,
      remote: new YahooChartProvider({
        baseUrl: server.baseUrl,
        timeoutMs: 10_000,
        maxRetries: 3,
        budgetMs: overrides.budgetMs ?? 2000,
        requestsPerSecond: 100,
        cacheDir: path.join(dir, 'cache'),
        // The raw-response cache never hides a refresh in these tests.
        ttlSeconds: 0.001,
        userAgent: 'stock-prediction-test/1',
        retryBaseDelayMs: 10,
      }),
      refreshAfterMs: overrides.refreshAfterMs ?? 3_600_000,
      retryAfterMs: 0,
      unknownSymbolTtlMs: 60_000,
      onRefresh: (event) => events.push(event),
    });
    return { provider, store, events, dir };
  }

  /** Resolves once `events` has `count` entries (background refreshes report there); bounded. */
  async function settled(events: RefreshEvent[], count: number): Promise<void> {
    for (let i = 0; i < 200 && events.length < count; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.ok(events.length >= count, `${events.length} refreshes reported, expected ${count}`);
  }

  it('stores a new symbol on its first lookup and answers later reads from the store', async () => {
    const { provider, store, dir } = setup();
    const first = await provider.getBars('NVDA');
    assert.equal(first.length, 252);
    assert.deepEqual(await store.read('NVDA'), first);
    assert.ok((await readdir(path.join(dir, 'cache'))).some((name) => name.endsWith('.json')), 'raw response cached in stock_data/cache');
    server.handle(() => assert.fail('no request expected'));
    assert.deepEqual(await provider.getBars('NVDA', { from: '2022-01-03' }), first.filter((b) => b.date >= '2022-01-03'));
  });

  it('extends the stored history with a later answer without duplicates, and keeps the adjusted basis consistent', async () => {
    const { provider, store, events } = setup({ refreshAfterMs: 0 });
    body = firstBars(nvda, 200);
    const earlier = await provider.getBars('NVDA');
    assert.equal(earlier.length, 200);
    // Later: 52 more sessions, a dividend since, which rescaled every adjusted close by 0.99, and a source that
    // no longer returns the first 50 sessions: those stay stored and must move onto the new basis too.
    body = rebased(barsBetween(nvda, 50, 252), 0.99);
    const served = await provider.getBars('NVDA');
    assert.deepEqual(served, earlier, 'stored bars answer at once; the refresh runs in the background');
    await settled(events, 2);
    const stored = (await store.read('NVDA')) ?? [];
    assert.equal(stored.length, 252);
    assert.equal(new Set(stored.map((b) => b.date)).size, 252, 'no duplicate date');
    for (const index of [0, 10, 49, 50, 199]) {
      const ratio = (stored[index]?.adjClose ?? 0) / (earlier[index]?.adjClose ?? 1);
      assert.ok(Math.abs(ratio - 0.99) < 1e-6, `bar ${index} on the new basis (ratio ${ratio})`);
    }
    const refresh = events[1];
    assert.ok(refresh?.ok);
    assert.equal(refresh.added, 52);
    assert.equal(refresh.updated, 150);
    assert.ok(Math.abs((refresh.rescaled?.price ?? 0) - 0.99) < 1e-6);
  });

  it('waits for the refresh when asked for fresh bars (training), and falls back to stored bars when the source fails', async () => {
    const { provider } = setup({ refreshAfterMs: 0, budgetMs: 300 });
    body = firstBars(nvda, 200);
    await provider.getBars('NVDA');
    body = nvda;
    assert.equal((await provider.getBars('NVDA', { fresh: true })).length, 252);
    server.handle((_, response) => send(response, 200, '<html>consent</html>', 'text/html'));
    assert.equal((await provider.getBars('NVDA', { fresh: true })).length, 252, 'garbage from the source: the stored bars');
  });

  it('remembers an unknown symbol: the source is asked once', async () => {
    const { provider } = setup();
    await assert.rejects(provider.getBars('ZZZZ'), NotFoundError);
    await assert.rejects(provider.getBars('ZZZZ'), NotFoundError);
    assert.equal(server.requests.length, 1);
  });

  it('answers a new symbol within the fetch budget with UnavailableError when the source hangs', async () => {
    const { provider } = setup({ budgetMs: 300 });
    server.handle((_, response) => {
      const timer = setTimeout(() => send(response, 200, nvda), 30_000);
      response.on('close', () => clearTimeout(timer));
    });
    const started = performance.now();
    await assert.rejects(provider.getBars('NVDA'), UnavailableError);
    assert.ok(performance.now() - started < 10_000, 'not held by the 30 s upstream');
  });
});
