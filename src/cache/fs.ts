import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Suffix of in-progress writes; readers and directory scans skip these files. */
export const TEMP_SUFFIX = '.tmp';

/**
 * Writes `data` to a temporary file beside `file` and renames it into place, so readers see
 * either the old content or the new one, never half a file (rename is atomic within a folder).
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
  try {
    await writeFile(temporary, data, { mode });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** True for "no such file or directory". */
export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}
