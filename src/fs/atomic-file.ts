import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Mode of every folder the service creates. Explicit everywhere, so that a umask of 000 (a container started
 * with a permissive default) never makes persistent_data world-writable.
 */
export const DIR_MODE = 0o755;

/** Marker in the name of every temporary file or folder we create; cleaners remove stale ones, scans skip them. */
export const TEMP_MARKER = '.tmp-';

/**
 * A unique temporary name beside `target`. The writer's pid is part of it so that `clean`
 * can tell a leftover of a dead process from the work in progress of a live one.
 */
export function tempNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`);
}

export interface AtomicWriteOptions {
  /**
   * Flush to disk before the rename (default). Caches pass false: losing a cache entry in a power cut
   * is harmless, and an fsync per entry would sit on the prediction path.
   */
  readonly durable?: boolean;
}

/**
 * Writes a file under a temporary name and renames it into place: readers see the old or the new file, never half.
 * Whatever fails (write on a full disk, sync, close, rename), the temporary file is removed before the error is rethrown.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const temp = tempNameFor(target);
  const handle = await fs.open(temp, 'wx', 0o644);
  try {
    try {
      await handle.writeFile(data);
      if (options.durable !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/** True for "no such file or directory". */
export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

/** The pid recorded in a temporary name, or undefined when the name is not one of ours. */
export function tempOwnerPid(name: string): number | undefined {
  const at = name.lastIndexOf(TEMP_MARKER);
  if (at < 0) return undefined;
  const pid = Number.parseInt(name.slice(at + TEMP_MARKER.length).split('-')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
