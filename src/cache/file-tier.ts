import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DIR_MODE, isNotFound, TEMP_MARKER, writeFileAtomic } from '../fs/atomic-file.js';
import {
  HitCounter,
  parseStoredEntry,
  ttlToMs,
  type CacheEntry,
  type CacheTier,
  type StoredEntry,
  type TierCounters,
  type TierStatus,
} from './tier.js';
import { errorMessage } from '../errors.js';

export interface FileCacheTierOptions {
  /** Folder owned by this cache (`persistent_data/ml_cache/`, `stock_data/cache/`). */
  readonly directory: string;
  readonly ttlSeconds: number;
  /** Upper bound on files; the oldest-written are deleted beyond it. */
  readonly maxEntries: number;
  /** Tier name in stats and metrics (default `file`). */
  readonly name?: string;
  readonly now?: () => number;
  /** Told about I/O failures, which are otherwise turned into misses. */
  readonly onError?: (error: Error) => void;
}

const ENTRY_FILE = /^[0-9a-f]{64}\.json$/;
/** Temporary files older than this are leftovers of a crash, not writes in progress. */
const STALE_TEMP_MS = 60_000;

/**
 * Persistent cache: one JSON file per key, named by the SHA-256 of the key (safe for any key,
 * fixed length), holding `{key, expiresAt, value}`. Written temp+rename; the TTL is checked on
 * read, and expired or unreadable files are deleted when met. Survives restarts.
 *
 * The entry index (file names, oldest write first) is built from the folder on first use and kept in
 * memory, so `size()` and eviction do not scan the folder on every write. Another process
 * writing the same folder is tolerated: a file missing on read is a miss, and eviction ignores
 * files that are already gone.
 */
export class FileCacheTier<T> implements CacheTier<T> {
  readonly name: string;
  readonly directory: string;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly onError: ((error: Error) => void) | undefined;
  private readonly counter = new HitCounter();
  /** Entry file names in write order, oldest first (Set iteration order). */
  private index: Promise<Set<string>> | undefined;
  private lastError: string | undefined;

  constructor(options: FileCacheTierOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`file cache maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    this.name = options.name ?? 'file';
    this.directory = path.resolve(options.directory);
    this.ttlMs = ttlToMs(options.ttlSeconds);
    this.maxEntries = options.maxEntries;
    this.now = options.now ?? Date.now;
    this.onError = options.onError;
  }

  async get(key: string): Promise<CacheEntry<T> | undefined> {
    const name = fileNameFor(key);
    const file = path.join(this.directory, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (!isNotFound(error)) this.fail(error);
      return this.counter.record(undefined);
    }
    const stored = parseStoredEntry<T>(text);
    if (stored === undefined || stored.key !== key || stored.expiresAt <= this.now()) {
      // Expired, corrupt (e.g. written by a foreign tool) or a hash collision: never serve it.
      if (stored === undefined || stored.expiresAt <= this.now()) await this.remove(name);
      return this.counter.record(undefined);
    }
    return this.counter.record({ value: stored.value, expiresAt: stored.expiresAt });
  }

  async set(key: string, value: T, ttlMs?: number): Promise<void> {
    const name = fileNameFor(key);
    const stored: StoredEntry<T> = { key, expiresAt: this.now() + (ttlMs ?? this.ttlMs), value };
    try {
      const index = await this.loadIndex();
      await writeFileAtomic(path.join(this.directory, name), JSON.stringify(stored), { durable: false });
      index.delete(name);
      index.add(name);
      this.lastError = undefined;
      await this.evict(index);
    } catch (error) {
      this.fail(error);
    }
  }

  async delete(key: string): Promise<void> {
    await this.remove(fileNameFor(key));
  }

  async clear(): Promise<void> {
    try {
      const index = await this.loadIndex();
      const names = await this.entryFiles();
      await Promise.all(names.map((name) => rm(path.join(this.directory, name), { force: true })));
      index.clear();
    } catch (error) {
      this.fail(error);
    }
  }

  async size(): Promise<number> {
    try {
      return (await this.loadIndex()).size;
    } catch (error) {
      this.fail(error);
      return 0;
    }
  }

  counters(): TierCounters {
    return this.counter.snapshot();
  }

  status(): TierStatus {
    return this.lastError === undefined ? { up: true } : { up: false, detail: this.lastError };
  }

  async close(): Promise<void> {
    this.index = undefined;
  }

  private async evict(index: Set<string>): Promise<void> {
    while (index.size > this.maxEntries) {
      const oldest = index.values().next();
      if (oldest.done === true) return;
      index.delete(oldest.value);
      await rm(path.join(this.directory, oldest.value), { force: true });
    }
  }

  private async remove(name: string): Promise<void> {
    try {
      await rm(path.join(this.directory, name), { force: true });
      (await this.loadIndex()).delete(name);
    } catch (error) {
      this.fail(error);
    }
  }

  private loadIndex(): Promise<Set<string>> {
    if (this.index === undefined) {
      const loading = this.buildIndex();
      this.index = loading;
      // A failed load (e.g. folder not creatable yet) is retried on the next call.
      loading.catch(() => {
        if (this.index === loading) this.index = undefined;
      });
    }
    return this.index;
  }

  private async buildIndex(): Promise<Set<string>> {
    await mkdir(this.directory, { recursive: true, mode: DIR_MODE });
    const entries: [string, number][] = [];
    for (const name of await readdir(this.directory)) {
      const file = path.join(this.directory, name);
      const info = await stat(file).catch(() => undefined);
      if (info === undefined) continue;
      if (ENTRY_FILE.test(name)) entries.push([name, info.mtimeMs]);
      else if (name.includes(TEMP_MARKER) && this.now() - info.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true });
    }
    entries.sort((a, b) => a[1] - b[1]);
    return new Set(entries.map(([name]) => name));
  }

  private async entryFiles(): Promise<string[]> {
    return (await readdir(this.directory)).filter((name) => ENTRY_FILE.test(name));
  }

  private fail(error: unknown): void {
    this.lastError = errorMessage(error);
    this.onError?.(error instanceof Error ? error : new Error(this.lastError));
  }
}

function fileNameFor(key: string): string {
  return `${createHash('sha256').update(key).digest('hex')}.json`;
}
