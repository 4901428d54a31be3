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
  /**
   * Write-behind: `set` resolves at once and the files are written this many ms later, together with the other
   * entries set meanwhile (a key set twice is written once). Absent: `set` resolves once its file is written.
   * Either way `flush` and `close` wait for every file.
   */
  readonly writeBehindMs?: number;
  /** How often the entry index is read again from the folder, for entries other processes wrote (default 2000 ms). */
  readonly rescanMs?: number;
}

const ENTRY_FILE = /^[0-9a-f]{64}\.json$/;
/** Temporary files older than this are leftovers of a crash, not writes in progress. */
const STALE_TEMP_MS = 60_000;
const DEFAULT_RESCAN_MS = 2000;
/** Entries waiting beyond this are written at once instead of after the delay: the queue stays small. */
const MAX_PENDING = 256;

/**
 * Persistent cache: one JSON file per key, named by the SHA-256 of the key (safe for any key,
 * fixed length), holding `{key, expiresAt, value}`. Written temp+rename, so a crash leaves the old file or
 * the new one, never half of one; the TTL is checked on read, and expired or unreadable files are deleted when met.
 * Survives restarts.
 *
 * The names of the entry files are kept in memory (oldest write first): a key that is not there is a miss without
 * any system call, and `size()` and eviction never scan the folder. Other processes (replicas) writing the same
 * folder are seen by a rescan every `rescanMs` off the request path; until then an entry one of them just wrote is a
 * miss here, which costs a recomputation, never a wrong answer. A name whose file another process deleted costs one
 * failed read, then it is dropped.
 */
export class FileCacheTier<T> implements CacheTier<T> {
  readonly name: string;
  readonly directory: string;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly onError: ((error: Error) => void) | undefined;
  private readonly writeBehindMs: number | undefined;
  private readonly rescanMs: number;
  private readonly counter = new HitCounter();
  /** Entry file name → the index generation that added it, in write order, oldest first (Map iteration order). */
  private entries: Map<string, number> | undefined;
  private generation = 0;
  private loading: Promise<Map<string, number>> | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private rescanning = false;
  /** Entries set but not yet on disk, by file name; reads are answered from here. */
  private readonly pending = new Map<string, StoredEntry<T>>();
  private writeTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
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
    this.writeBehindMs = options.writeBehindMs;
    this.rescanMs = options.rescanMs ?? DEFAULT_RESCAN_MS;
  }

  async get(key: string): Promise<CacheEntry<T> | undefined> {
    const name = fileNameFor(key);
    const queued = this.pending.get(name);
    if (queued !== undefined) return this.counter.record(this.servable(key, queued));
    if (this.entries === undefined) {
      // Until the index is built (first use), the file itself is asked, so no lookup waits for a folder scan.
      void this.loadIndex().catch(() => undefined);
    } else if (!this.entries.has(name)) {
      return this.counter.record(undefined);
    }
    const file = path.join(this.directory, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isNotFound(error)) this.entries?.delete(name);
      else this.fail(error);
      return this.counter.record(undefined);
    }
    const stored = parseStoredEntry<T>(text);
    // Expired or corrupt (e.g. written by a foreign tool): deleted. A hash collision (another key) is kept.
    if (stored === undefined || stored.expiresAt <= this.now()) await this.remove(name);
    return this.counter.record(stored === undefined ? undefined : this.servable(key, stored));
  }

  async set(key: string, value: T, ttlMs?: number): Promise<void> {
    const name = fileNameFor(key);
    // Re-inserted so that the batch writes in set order.
    this.pending.delete(name);
    const stored: StoredEntry<T> = { key, expiresAt: this.now() + (ttlMs ?? this.ttlMs), value };
    this.pending.set(name, stored);
    if (this.writeBehindMs === undefined) {
      await this.writeUntil(() => this.pending.get(name) !== stored);
      return;
    }
    if (this.pending.size >= MAX_PENDING) {
      void this.flush();
      return;
    }
    this.writeTimer ??= setTimeout(() => {
      this.writeTimer = undefined;
      void this.flush();
    }, this.writeBehindMs);
  }

  /** Writes every entry set so far and waits for it; a write that fails is reported (onError, status), not retried. */
  async flush(): Promise<void> {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    await this.writeUntil(() => this.writing === undefined && this.pending.size === 0);
  }

  /** Runs write batches, one at a time, until `done()`. */
  private async writeUntil(done: () => boolean): Promise<void> {
    while (!done()) {
      this.writing ??= this.writeBatch().finally(() => {
        this.writing = undefined;
      });
      await this.writing;
    }
  }

  async delete(key: string): Promise<void> {
    const name = fileNameFor(key);
    this.pending.delete(name);
    // A write of this entry already under way must land before the file is removed, not after.
    await this.writing;
    await this.remove(name);
  }

  async clear(): Promise<void> {
    this.pending.clear();
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    await this.writing;
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
      const index = await this.loadIndex();
      let unwritten = 0;
      for (const name of this.pending.keys()) if (!index.has(name)) unwritten += 1;
      return index.size + unwritten;
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
    await this.flush();
    clearInterval(this.rescanTimer);
    this.rescanTimer = undefined;
    this.entries = undefined;
    this.loading = undefined;
  }

  /** The entry when it belongs to `key` and has not expired. */
  private servable(key: string, stored: StoredEntry<T>): CacheEntry<T> | undefined {
    if (stored.key !== key || stored.expiresAt <= this.now()) return undefined;
    return { value: stored.value, expiresAt: stored.expiresAt };
  }

  /** Writes the entries pending now, one file at a time, so they hold one thread of the pool, not all four. */
  private async writeBatch(): Promise<void> {
    const batch = [...this.pending];
    let index: Map<string, number>;
    try {
      index = await this.loadIndex();
    } catch (error) {
      for (const [name, stored] of batch) if (this.pending.get(name) === stored) this.pending.delete(name);
      this.fail(error);
      return;
    }
    for (const [name, stored] of batch) {
      // Cleared, deleted or set again since the batch was taken: that newer state wins.
      if (this.pending.get(name) !== stored) continue;
      try {
        await writeFileAtomic(path.join(this.directory, name), JSON.stringify(stored), { durable: false });
        index.delete(name);
        index.set(name, (this.generation += 1));
        this.lastError = undefined;
      } catch (error) {
        this.fail(error);
      }
      if (this.pending.get(name) === stored) this.pending.delete(name);
    }
    await this.evict(index);
  }

  private async evict(index: Map<string, number>): Promise<void> {
    while (index.size > this.maxEntries) {
      const oldest = index.keys().next();
      if (oldest.done === true) return;
      index.delete(oldest.value);
      await rm(path.join(this.directory, oldest.value), { force: true }).catch((error: unknown) => this.fail(error));
    }
  }

  private async remove(name: string): Promise<void> {
    try {
      await rm(path.join(this.directory, name), { force: true });
      this.entries?.delete(name);
    } catch (error) {
      this.fail(error);
    }
  }

  private loadIndex(): Promise<Map<string, number>> {
    if (this.entries !== undefined) return Promise.resolve(this.entries);
    if (this.loading === undefined) {
      const loading = this.buildIndex().then((entries) => {
        if (this.loading === loading) {
          this.entries = entries;
          this.startRescans();
        }
        return entries;
      });
      this.loading = loading;
      // A failed load (e.g. folder not creatable yet) is retried on the next call.
      loading.catch(() => {
        if (this.loading === loading) this.loading = undefined;
      });
    }
    return this.loading;
  }

  private async buildIndex(): Promise<Map<string, number>> {
    await mkdir(this.directory, { recursive: true, mode: DIR_MODE });
    const found: [string, number][] = [];
    for (const name of await readdir(this.directory)) {
      const file = path.join(this.directory, name);
      const info = await stat(file).catch(() => undefined);
      if (info === undefined) continue;
      if (ENTRY_FILE.test(name)) found.push([name, info.mtimeMs]);
      else if (name.includes(TEMP_MARKER) && this.now() - info.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true });
    }
    found.sort((a, b) => a[1] - b[1]);
    return new Map(found.map(([name]) => [name, 0]));
  }

  private startRescans(): void {
    if (this.rescanTimer !== undefined) return;
    this.rescanTimer = setInterval(() => void this.rescan(), this.rescanMs);
    // The rescan only keeps the index fresh; it must not keep a finished process alive.
    this.rescanTimer.unref();
  }

  /**
   * Brings the index in line with the folder: names other processes wrote are added (as the newest), names whose
   * files are gone are dropped, except those this process wrote after the folder was read.
   */
  private async rescan(): Promise<void> {
    const index = this.entries;
    if (index === undefined || this.rescanning) return;
    this.rescanning = true;
    const readAt = this.generation;
    try {
      const onDisk = new Set(await this.entryFiles());
      for (const [name, addedAt] of index) if (addedAt <= readAt && !onDisk.has(name)) index.delete(name);
      for (const name of onDisk) if (!index.has(name)) index.set(name, readAt);
    } catch (error) {
      if (!isNotFound(error)) this.fail(error);
    } finally {
      this.rescanning = false;
    }
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
