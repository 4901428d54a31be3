import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isNotFound } from '../fs/atomic-file.js';
import { DataValidationError, NotFoundError, ValidationError } from '../errors.js';
import { SYMBOL_PATTERN, type Bar } from './bar.js';
import { observed, type FetchObserver } from './observer.js';
import type { BarQuery, MarketDataProvider } from './provider.js';
import { barProblem, barsInRange, checkQuery, orderProblem } from './validation.js';

/** Column names as written by this project (`adj_close`) and by Yahoo's CSV download (`Adj Close`). */
const COLUMN_ALIASES: Record<string, keyof Bar> = {
  date: 'date',
  open: 'open',
  high: 'high',
  low: 'low',
  close: 'close',
  adj_close: 'adjClose',
  'adj close': 'adjClose',
  volume: 'volume',
};
const REQUIRED: readonly (keyof Bar)[] = ['date', 'open', 'high', 'low', 'close', 'adjClose', 'volume'];

/**
 * Parses a daily-bar CSV with header `date,open,high,low,close,adj_close,volume` (or Yahoo's
 * `Date,Open,High,Low,Close,Adj Close,Volume`; column order is free, names are case-insensitive).
 *
 * Rules — every bad row is REJECTED, none is repaired, because a silently "fixed" price series
 * trains a model on numbers nobody saw:
 * - a missing column in the header, or a row with the wrong number of fields → reject;
 * - an empty or non-numeric field (`null`, `NaN`, `abc`) → reject;
 * - a date that is not a real `YYYY-MM-DD` calendar date → reject;
 * - open/high/low/close/adj_close <= 0, or volume < 0 → reject;
 * - high < low → reject;
 * - a date equal to the previous row's (duplicate) or earlier (unsorted) → reject.
 * Blank lines (including the trailing newline) and CRLF line endings are accepted.
 * Errors are `DataValidationError` naming `fileName` and the 1-based line number in the file.
 * An empty file (header only) is valid and yields no bars.
 */
export function parseBarsCsv(text: string, fileName: string): Bar[] {
  const lines = text.split(/\r?\n/);
  const headerIndex = lines.findIndex((line) => line.trim() !== '');
  if (headerIndex < 0) throw new DataValidationError('file is empty (no header)', { file: fileName, line: 1 });

  const headerLine = (lines[headerIndex] ?? '').replace(/^\uFEFF/, '');
  const columns = headerLine.split(',').map((name) => COLUMN_ALIASES[name.trim().toLowerCase()]);
  const position = new Map<keyof Bar, number>();
  columns.forEach((field, index) => {
    if (field !== undefined && !position.has(field)) position.set(field, index);
  });
  const missing = REQUIRED.filter((field) => !position.has(field));
  if (missing.length > 0) {
    throw new DataValidationError(
      `header "${headerLine}" lacks column(s) ${missing.join(', ')}; expected date,open,high,low,close,adj_close,volume`,
      { file: fileName, line: headerIndex + 1 },
    );
  }

  const bars: Bar[] = [];
  for (let index = headerIndex + 1; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    if (line.trim() === '') continue;
    const where = { file: fileName, line: index + 1 };
    const fields = line.split(',');
    if (fields.length !== columns.length) {
      throw new DataValidationError(`expected ${columns.length} fields, found ${fields.length}`, where);
    }
    const fieldText = (field: keyof Bar): string => (fields[position.get(field) ?? -1] ?? '').trim();
    const number = (field: keyof Bar): number => {
      const raw = fieldText(field);
      if (raw === '') throw new DataValidationError(`missing ${field}`, where);
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new DataValidationError(`${field} "${raw}" is not a number`, where);
      return value;
    };
    const bar: Bar = {
      date: fieldText('date'),
      open: number('open'),
      high: number('high'),
      low: number('low'),
      close: number('close'),
      adjClose: number('adjClose'),
      volume: number('volume'),
    };
    const problem = barProblem(bar) ?? orderProblem(bars[bars.length - 1], bar);
    if (problem !== undefined) throw new DataValidationError(problem, where);
    bars.push(bar);
  }
  return bars;
}

export interface CsvMarketDataOptions {
  /** Folder holding `<SYMBOL>.csv` files, normally `persistent_data/stock_data/historical/`. */
  readonly directory: string;
  /**
   * How long a parsed file is trusted before its mtime and size are checked again (default
   * 1000 ms). Every prediction reads bars, even cached ones (the last bar date is part of the
   * cache key), so this keeps the hot path free of file-system calls; a replaced file is
   * noticed within this delay. 0 checks on every call.
   */
  readonly revalidateMs?: number;
  readonly onFetch?: FetchObserver;
}

interface ParsedFile {
  readonly mtimeMs: number;
  readonly size: number;
  readonly bars: Promise<readonly Bar[]>;
  /** When mtime and size were last found unchanged (performance.now()). */
  checkedAt: number;
}

/**
 * Bars from `<directory>/<SYMBOL>.csv`. Parsed files are kept in memory and reused while the
 * file's mtime and size are unchanged (checked at most every `revalidateMs`); a replaced file
 * is parsed again on the next call after that.
 */
export class CsvMarketData implements MarketDataProvider {
  readonly name = 'csv';
  readonly directory: string;
  private readonly parsed = new Map<string, ParsedFile>();
  private readonly onFetch: FetchObserver | undefined;
  private readonly revalidateMs: number;

  constructor(options: CsvMarketDataOptions) {
    this.directory = path.resolve(options.directory);
    this.onFetch = options.onFetch;
    this.revalidateMs = options.revalidateMs ?? 1000;
  }

  async getBars(symbol: string, query: BarQuery = {}): Promise<Bar[]> {
    const file = this.fileFor(symbol);
    checkQuery(query);
    return observed(this.onFetch, { source: this.name, symbol }, async (marks) => {
      const known = this.parsed.get(file);
      if (known !== undefined && performance.now() - known.checkedAt < this.revalidateMs) {
        marks.cached();
        return barsInRange(await known.bars, query.from, query.to);
      }
      let info;
      try {
        info = await stat(file);
      } catch (error) {
        if (isNotFound(error)) throw new NotFoundError(`no market data for symbol ${symbol}`, { symbol });
        throw error;
      }
      let entry = known;
      if (entry !== undefined && entry.mtimeMs === info.mtimeMs && entry.size === info.size) {
        entry.checkedAt = performance.now();
        marks.cached();
      } else {
        // Bars are frozen (shared by every caller); the array is not: V8 copies frozen arrays ~100x slower.
        const bars = readFile(file, 'utf8').then((text) => parseBarsCsv(text, file).map((bar) => Object.freeze(bar)));
        const fresh: ParsedFile = { mtimeMs: info.mtimeMs, size: info.size, bars, checkedAt: performance.now() };
        entry = fresh;
        this.parsed.set(file, fresh);
        // A failed parse must not stick: the next call reads the (maybe fixed) file again.
        bars.catch(() => {
          if (this.parsed.get(file) === fresh) this.parsed.delete(file);
        });
      }
      return barsInRange(await entry.bars, query.from, query.to);
    });
  }

  async listSymbols(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    return names
      .filter((name) => name.endsWith('.csv'))
      .map((name) => name.slice(0, -'.csv'.length))
      .filter((symbol) => SYMBOL_PATTERN.test(symbol))
      .sort();
  }

  private fileFor(symbol: string): string {
    // The pattern also keeps the symbol from naming a path outside the directory.
    if (!SYMBOL_PATTERN.test(symbol)) throw new ValidationError(`invalid symbol "${symbol}"`, { symbol }, 'INVALID_SYMBOL');
    return path.join(this.directory, `${symbol}.csv`);
  }
}
