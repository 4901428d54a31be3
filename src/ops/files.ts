import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isNotFound, isProcessAlive, TEMP_MARKER, tempOwnerPid } from '../fs/atomic-file.js';

/** A regular file below some root, named by its POSIX path relative to that root. */
export interface FileEntry {
  readonly rel: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** Half-written files of the service (temp+rename writers) never belong in a backup or a listing. */
export function isTemporaryName(name: string): boolean {
  return name.includes(TEMP_MARKER);
}

export function toPosix(rel: string): string {
  return rel.split(path.sep).join('/');
}

/**
 * Every regular file below `dir`, sorted by path. Symlinks are skipped (a backup must not follow
 * them out of persistent_data); a directory that vanishes while we walk is treated as empty,
 * because the service may prune old versions at any time.
 */
export async function walkFiles(dir: string, skip: (rel: string) => boolean = () => false): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  async function visit(abs: string, rel: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(abs, { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (isTemporaryName(entry.name)) continue;
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (skip(childRel)) continue;
      const childAbs = path.join(abs, entry.name);
      if (entry.isDirectory()) {
        await visit(childAbs, childRel);
      } else if (entry.isFile()) {
        try {
          const info = await fs.stat(childAbs);
          out.push({ rel: childRel, size: info.size, mtimeMs: info.mtimeMs });
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    }
  }
  await visit(dir, '');
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Human-readable byte count for operator output. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** UTC timestamp usable in file names: 20261125T223000Z. */
export function fileStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** Temporary files and folders in `dir` whose writer process is gone (crashed backups, restores, saves). */
export async function deadLeftovers(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  return names.filter((name) => {
    const pid = tempOwnerPid(name);
    return pid !== undefined && !isProcessAlive(pid);
  }).map((name) => path.join(dir, name));
}
