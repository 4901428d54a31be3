import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { NotFoundError } from '../errors.js';
import type { Bar } from './bar.js';
import { CsvMarketData } from './csv.js';
import { mergeHistory, type MergedHistory } from './merge.js';

/** The header this project writes; `parseBarsCsv` reads it (and Yahoo's own CSV header). */
const CSV_HEADER = 'date,open,high,low,close,adj_close,volume';

/** Bars as a CSV file in the shipped samples' format, oldest first, numbers written exactly. */
export function formatBarsCsv(bars: readonly Bar[]): string {
  const lines = bars.map((b) => `${b.date},${b.open},${b.high},${b.low},${b.close},${b.adjClose},${b.volume}`);
  return `${CSV_HEADER}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
}

/**
 * The stored daily history of every symbol, `stock_data/historical/<SYMBOL>.csv`: the files the CSV source
 * serves, and where bars fetched from a remote source are kept, so that serving, training, evaluation and
 * retraining all read the same bars. A merge rewrites the whole file under a temporary name and renames it
 * into place (readers and a crash see the old or the new history, never half), and merges of one symbol
 * run one after another, so no fetched bar is lost to a concurrent one.
 */
export class HistoricalStore {
  readonly directory: string;
  /** Re-checked on every read (mtime and size): a merge must be visible to the next request at once. */
  private readonly files: CsvMarketData;
  private readonly merging = new Map<string, Promise<unknown>>();

  constructor(directory: string) {
    this.directory = path.resolve(directory);
    this.files = new CsvMarketData({ directory: this.directory, revalidateMs: 0 });
  }

  /** The symbol's stored bars, oldest first; undefined when nothing is stored. */
  async read(symbol: string): Promise<Bar[] | undefined> {
    try {
      const bars = await this.files.getBars(symbol);
      return bars.length === 0 ? undefined : bars;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  listSymbols(): Promise<string[]> {
    return this.files.listSymbols();
  }

  /** Joins validated `fetched` bars onto the stored history (see mergeHistory) and writes it when anything changed. */
  merge(symbol: string, fetched: readonly Bar[]): Promise<MergedHistory> {
    const previous = this.merging.get(symbol) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      const merged = mergeHistory((await this.read(symbol)) ?? [], fetched, symbol);
      if (merged.added > 0 || merged.updated > 0 || merged.rescaled !== undefined) {
        await mkdir(this.directory, { recursive: true, mode: 0o755 });
        await writeFileAtomic(path.join(this.directory, `${symbol}.csv`), formatBarsCsv(merged.bars));
      }
      return merged;
    });
    this.merging.set(symbol, next);
    void next.finally(() => {
      if (this.merging.get(symbol) === next) this.merging.delete(symbol);
    }).catch(() => undefined);
    return next;
  }
}

