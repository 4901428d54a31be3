import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface TreeEntry {
  readonly path: string;
  readonly type: 'dir' | 'file' | 'symlink' | 'other';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeMs: number;
  readonly sha256?: string;
}

/** Every path under `root` (itself included) with type, mode, owner, mtime and content hash: equal snapshots mean nothing changed. */
export async function snapshotTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  async function visit(abs: string): Promise<void> {
    const info = await lstat(abs);
    const type = info.isDirectory() ? 'dir' : info.isFile() ? 'file' : info.isSymbolicLink() ? 'symlink' : 'other';
    const entry: TreeEntry = {
      path: path.relative(root, abs) || '.',
      type,
      mode: info.mode & ~constants.S_IFMT,
      uid: info.uid,
      gid: info.gid,
      mtimeMs: info.mtimeMs,
      ...(type === 'file' ? { sha256: createHash('sha256').update(await readFile(abs)).digest('hex') } : {}),
    };
    out.push(entry);
    if (type === 'dir') for (const name of (await readdir(abs)).sort()) await visit(path.join(abs, name));
  }
  await visit(root);
  return out;
}

export function worldWritable(entries: readonly TreeEntry[]): string[] {
  return entries.filter((e) => e.type !== 'symlink' && (e.mode & 0o002) !== 0).map((e) => e.path);
}
