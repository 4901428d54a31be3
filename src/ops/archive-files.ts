import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as tar from 'tar';
import { isNotFound } from '../fs/atomic-file.js';
import { ArchiveRejectedError } from './backup-manifest.js';

/** One file of a tar.gz as read (and hashed) in a single pass. */
export interface ArchiveFile {
  /** Path inside the archive, without a trailing slash. */
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly mtime: Date;
  /** The content, for the few small files the caller asked to keep (manifests, backup_info.json). */
  readonly text?: string;
}

const MAX_TEXT_BYTES = 1024 * 1024;

/**
 * Reads the whole archive once, hashing every file; nothing is written. `refuse` may name a reason
 * to reject an entry (a link, an unsafe path); directories are skipped. A missing, truncated or
 * corrupt archive, or a refused entry, is an ArchiveRejectedError.
 */
export async function readArchiveFiles(
  archive: string,
  keepText: (name: string) => boolean,
  refuse: (entry: { readonly name: string; readonly type: string }) => string | undefined,
): Promise<ArchiveFile[]> {
  try {
    const info = await fs.stat(archive);
    if (!info.isFile()) throw new ArchiveRejectedError(`${archive} is not a file`);
  } catch (error) {
    if (isNotFound(error)) throw new ArchiveRejectedError(`${archive} does not exist`);
    throw error;
  }
  const files: ArchiveFile[] = [];
  const pending: Promise<void>[] = [];
  // Thrown from tar's entry callback, a refusal would escape as an uncaught exception: it is kept and thrown after the read.
  let refusal: ArchiveRejectedError | undefined;
  try {
    await tar.t({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        const name = entry.path.replace(/\/$/, '');
        const reason = refusal === undefined ? refuse({ name, type: entry.type }) : undefined;
        if (reason !== undefined) refusal = new ArchiveRejectedError(`${archive}: ${reason}`);
        if (refusal !== undefined || entry.type === 'Directory') {
          entry.resume();
          return;
        }
        const keep = keepText(name);
        const hash = createHash('sha256');
        const chunks: Buffer[] = [];
        let bytes = 0;
        pending.push(new Promise<void>((resolve, reject) => {
          entry.on('data', (chunk: Buffer) => {
            hash.update(chunk);
            bytes += chunk.length;
            if (keep && bytes <= MAX_TEXT_BYTES) chunks.push(chunk);
          });
          entry.on('end', () => {
            files.push({ name, bytes, sha256: hash.digest('hex'), mtime: entry.mtime ?? new Date(0), ...(keep ? { text: Buffer.concat(chunks).toString('utf8') } : {}) });
            resolve();
          });
          entry.on('error', reject);
        }));
      },
    });
    await Promise.all(pending);
  } catch (error) {
    if (error instanceof ArchiveRejectedError) throw error;
    throw new ArchiveRejectedError(`${archive} is not a readable backup archive (truncated or corrupt): ${(error as Error).message}`);
  }
  if (refusal !== undefined) throw refusal;
  return files;
}
