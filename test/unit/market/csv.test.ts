import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, utimes, writeFile, copyFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataValidationError, NotFoundError, ValidationError } from '../../../src/errors.js';
import { CsvMarketData, parseBarsCsv } from '../../../src/market/csv.js';
import type { FetchEvent } from '../../../src/market/observer.js';
import { seedHistorical } from '../../../src/market/seed.js';
import { barsInRange } from '../../../src/market/validation.js';
import { sampleDir, repoRoot } from '../../helpers/paths.js';

const HEADER = 'date,open,high,low,close,adj_close,volume';
const GOOD_ROWS = ['2024-01-02,10,11,9,10.5,10.5,1000', '2024-01-03,10.5,12,10,11,11,2000'];

/** Parses text that must be rejected and returns the error for inspection. */
function rejected(text: string, file = 'BAD.csv'): DataValidationError {
  try {
    parseBarsCsv(text, file);
  } catch (error) {
    assert.ok(error instanceof DataValidationError, `expected DataValidationError, got ${String(error)}`);
    return error;
  }
  assert.fail('bad CSV was accepted');
}

describe('parseBarsCsv', () => {
  it('parses the project header and the Yahoo header to the same bars', () => {
    const ours = parseBarsCsv([HEADER, ...GOOD_ROWS, ''].join('\n'), 'a.csv');
    const yahoo = parseBarsCsv(['Date,Open,High,Low,Close,Adj Close,Volume', ...GOOD_ROWS].join('\r\n'), 'b.csv');
    assert.deepEqual(ours, yahoo);
    assert.deepEqual(ours[1], { date: '2024-01-03', open: 10.5, high: 12, low: 10, close: 11, adjClose: 11, volume: 2000 });
  });

  it('maps columns by name, not by position', () => {
    const bars = parseBarsCsv('volume,adj_close,close,low,high,open,date\n1000,10.4,10.5,9,11,10,2024-01-02\n', 'x.csv');
    assert.deepEqual(bars[0], { date: '2024-01-02', open: 10, high: 11, low: 9, close: 10.5, adjClose: 10.4, volume: 1000 });
  });

  const cases: [string, string, number, RegExp][] = [
    ['unsorted dates', `${HEADER}\n${GOOD_ROWS[1]}\n${GOOD_ROWS[0]}`, 3, /out of order/],
    ['duplicate date', `${HEADER}\n${GOOD_ROWS[0]}\n${GOOD_ROWS[0]}`, 3, /duplicate date 2024-01-02/],
    ['missing field', `${HEADER}\n${GOOD_ROWS[0]}\n2024-01-03,10.5,12,10,,11,2000`, 3, /missing close/],
    ['non-numeric field', `${HEADER}\n2024-01-02,10,11,9,null,10.5,1000`, 2, /close "null" is not a number/],
    ['NaN field', `${HEADER}\n2024-01-02,10,11,9,10,NaN,1000`, 2, /adjClose "NaN" is not a number/],
    ['zero price', `${HEADER}\n${GOOD_ROWS[0]}\n2024-01-03,0,12,10,11,11,2000`, 3, /open must be positive/],
    ['negative price', `${HEADER}\n2024-01-02,10,11,9,-10.5,10.5,1000`, 2, /close must be positive/],
    ['negative volume', `${HEADER}\n2024-01-02,10,11,9,10.5,10.5,-1`, 2, /volume must be a non-negative/],
    ['high below low', `${HEADER}\n${GOOD_ROWS[0]}\n\n2024-01-03,10.5,9,10,11,11,2000`, 4, /high 9 is below low 10/],
    ['short row', `${HEADER}\n2024-01-02,10,11,9,10.5,1000`, 2, /expected 7 fields, found 6/],
    ['impossible date', `${HEADER}\n2024-02-30,10,11,9,10.5,10.5,1000`, 2, /invalid date "2024-02-30"/],
    ['missing column', `date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,1000`, 1, /lacks column\(s\) adjClose/],
  ];
  for (const [name, text, line, message] of cases) {
    it(`rejects ${name} naming the file and line ${line}`, () => {
      const error = rejected(text, 'data/NVDA.csv');
      assert.equal(error.file, 'data/NVDA.csv');
      assert.equal(error.line, line);
      assert.match(error.message, message);
      assert.ok(error.message.startsWith(`data/NVDA.csv:${line}: `), error.message);
    });
  }

  it('accepts a header-only file as no bars and refuses an empty one', () => {
    assert.deepEqual(parseBarsCsv(`${HEADER}\n`, 'e.csv'), []);
    assert.equal(rejected('', 'e.csv').line, 1);
  });
});

describe('real market CSVs', () => {
  // Row counts and ranges documented in data/sample/SOURCES.md.
  const expected: Record<string, [number, string, string]> = {
    NVDA: [5031, '2005-10-10', '2025-10-08'],
    TSLA: [3844, '2010-06-29', '2025-10-08'],
    AAPL: [5031, '2005-10-10', '2025-10-08'],
    MSFT: [5031, '2005-10-10', '2025-10-08'],
    AMZN: [5031, '2005-10-10', '2025-10-08'],
    GOOGL: [5031, '2005-10-10', '2025-10-08'],
    SPY: [5030, '2005-10-10', '2025-10-07'],
  };
  for (const [symbol, [rows, first, last]] of Object.entries(expected)) {
    it(`${symbol} parses to ${rows} validated bars, ${first}..${last}`, async () => {
      const file = path.join(sampleDir, `${symbol}.csv`);
      const bars = parseBarsCsv(await readFile(file, 'utf8'), file);
      assert.equal(bars.length, rows);
      assert.equal(bars[0]?.date, first);
      assert.equal(bars.at(-1)?.date, last);
    });
  }

  it('keeps the documented split-adjusted prices (NVDA 10:1 on 2024-06-10)', async () => {
    const provider = new CsvMarketData({ directory: sampleDir });
    const bars = await provider.getBars('NVDA', { from: '2024-06-07', to: '2024-06-10' });
    assert.deepEqual(bars.map((bar) => [bar.date, bar.close]), [['2024-06-07', 120.833084], ['2024-06-10', 121.734673]]);
  });
});

describe('CsvMarketData', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'csv-provider-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists symbols, filters by date range and reports unknown and invalid symbols', async () => {
    await writeFile(path.join(dir, 'ABC.csv'), [HEADER, ...GOOD_ROWS].join('\n'));
    await writeFile(path.join(dir, 'notes.txt'), 'not data');
    const provider = new CsvMarketData({ directory: dir });
    assert.deepEqual(await provider.listSymbols(), ['ABC']);
    assert.equal((await provider.getBars('ABC')).length, 2);
    assert.deepEqual((await provider.getBars('ABC', { from: '2024-01-03' })).map((bar) => bar.date), ['2024-01-03']);
    assert.deepEqual((await provider.getBars('ABC', { to: '2024-01-02' })).map((bar) => bar.date), ['2024-01-02']);
    await assert.rejects(provider.getBars('NOPE'), NotFoundError);
    await assert.rejects(provider.getBars('../etc/passwd'), ValidationError);
    await assert.rejects(provider.getBars('ABC', { from: '2024-13-01' }), /from must be a date YYYY-MM-DD/);
  });

  it('serves repeated reads from memory and re-reads a file whose mtime or size changed', async () => {
    const file = path.join(dir, 'XYZ.csv');
    await writeFile(file, [HEADER, ...GOOD_ROWS].join('\n'));
    const provider = new CsvMarketData({ directory: dir, revalidateMs: 0 });
    const first = await provider.getBars('XYZ');
    const second = await provider.getBars('XYZ');
    // Same frozen bar objects: the second call did not parse again.
    assert.equal(first[0], second[0]);
    assert.ok(Object.isFrozen(first[0]));

    await writeFile(file, [HEADER, GOOD_ROWS[0], '2024-01-03,10.5,12,10,99,99,2000'].join('\n'));
    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    const changed = await provider.getBars('XYZ');
    assert.equal(changed[1]?.close, 99);
  });

  it('trusts a parsed file for revalidateMs before looking at the file again', async () => {
    const file = path.join(dir, 'LAG.csv');
    await writeFile(file, [HEADER, ...GOOD_ROWS].join('\n'));
    const events: FetchEvent[] = [];
    const provider = new CsvMarketData({ directory: dir, revalidateMs: 300, onFetch: (event) => events.push(event) });
    assert.equal((await provider.getBars('LAG')).length, 2);
    await writeFile(file, [HEADER, ...GOOD_ROWS, '2024-01-04,11,12,10,11,11,3000'].join('\n'));
    assert.equal((await provider.getBars('LAG')).length, 2, 'within the delay the memo answers');
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.equal((await provider.getBars('LAG')).length, 3, 'after it the new file is read');
    assert.deepEqual(events.map((event) => [event.source, event.symbol, event.ok, event.cached]), [
      ['csv', 'LAG', true, false],
      ['csv', 'LAG', true, true],
      ['csv', 'LAG', true, false],
    ]);
  });

  it('rejects a bad file with its path and line, and recovers once the file is fixed', async () => {
    const file = path.join(dir, 'BAD.csv');
    await writeFile(file, [HEADER, GOOD_ROWS[1], GOOD_ROWS[0]].join('\n'));
    const provider = new CsvMarketData({ directory: dir, revalidateMs: 0 });
    await assert.rejects(provider.getBars('BAD'), (error: unknown) => {
      assert.ok(error instanceof DataValidationError);
      assert.equal(error.file, file);
      assert.equal(error.line, 3);
      return true;
    });
    await writeFile(file, [HEADER, ...GOOD_ROWS, '2024-01-04,11,12,10,11,11,3000'].join('\n'));
    assert.equal((await provider.getBars('BAD')).length, 3);
  });
});

describe('seedHistorical', () => {
  it('copies the shipped samples into an empty folder once, and never over existing data', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'seed-'));
    try {
      const historicalDir = path.join(root, 'stock_data', 'historical');
      const first = await seedHistorical({ historicalDir, sampleDir });
      assert.equal(first.seeded, true);
      assert.deepEqual(first.files, ['AAPL.csv', 'AMZN.csv', 'GOOGL.csv', 'MSFT.csv', 'NVDA.csv', 'SPY.csv', 'TSLA.csv']);
      assert.deepEqual((await readdir(historicalDir)).sort(), first.files, 'no temporary files left behind');
      assert.deepEqual(await readFile(path.join(historicalDir, 'NVDA.csv')), await readFile(path.join(sampleDir, 'NVDA.csv')));
      assert.equal((await stat(path.join(historicalDir, 'NVDA.csv'))).mode & 0o002, 0, 'not world-writable');

      const second = await seedHistorical({ historicalDir, sampleDir });
      assert.deepEqual(second, { seeded: false, files: [] });

      // A folder holding the operator's own data is left alone.
      const own = path.join(root, 'own');
      await seedHistorical({ historicalDir: own, sampleDir: path.join(root, 'missing') });
      await copyFile(path.join(sampleDir, 'TSLA.csv'), path.join(own, 'TSLA.csv'));
      assert.equal((await seedHistorical({ historicalDir: own, sampleDir })).seeded, false);
      assert.deepEqual(await readdir(own), ['TSLA.csv']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('barsInRange', () => {
  it('selects the inclusive date range of sorted bars, including empty and out-of-range queries', async () => {
    const bars = await new CsvMarketData({ directory: sampleDir }).getBars('SPY');
    const dates = (from?: string, to?: string): string[] => barsInRange(bars, from, to).map((bar) => bar.date);
    const naive = (from?: string, to?: string): string[] =>
      bars.filter((bar) => (from === undefined || bar.date >= from) && (to === undefined || bar.date <= to)).map((bar) => bar.date);
    const queries: [string | undefined, string | undefined][] = [
      [undefined, undefined],
      ['2024-12-25', '2025-01-02'], // holiday at the start: starts on the next trading day
      ['2025-10-04', undefined], // weekend start
      [undefined, '2005-10-10'],
      ['2025-10-08', undefined], // after the last bar
      [undefined, '2000-01-01'], // before the first bar
      ['2025-01-10', '2025-01-01'], // inverted
    ];
    for (const [from, to] of queries) assert.deepEqual(dates(from, to), naive(from, to), `${from}..${to}`);
    assert.deepEqual(dates('2024-12-25', '2025-01-02'), ['2024-12-26', '2024-12-27', '2024-12-30', '2024-12-31', '2025-01-02']);
  });
});
