import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isNotFound } from '../fs/atomic-file.js';
import { isArchiveName } from './backup-manifest.js';

/**
 * The backup archives of a backups folder, by the one definition of an archive's name (isArchiveName):
 * what `ops backup` rotates, `ops cleanup` and `ops monitor` count and the last-backup gauge watches.
 */

/** Backup archives in `dir`, oldest first (their names sort by creation time). */
export async function listArchives(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter(isArchiveName).sort().map((name) => path.join(dir, name));
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

export interface ArchiveInfo {
  readonly file: string;
  readonly bytes: number;
  readonly mtimeMs: number;
}

/** The newest archive of `dir` (by name, i.e. by creation time), undefined when there is none. */
export async function newestArchive(dir: string): Promise<ArchiveInfo | undefined> {
  const file = (await listArchives(dir)).at(-1);
  if (file === undefined) return undefined;
  try {
    const info = await fs.stat(file);
    return { file, bytes: info.size, mtimeMs: info.mtimeMs };
  } catch (error) {
    // Rotated away between the listing and the stat: the next reading sees the current newest.
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
