import fs from 'node:fs/promises';
import path from 'node:path';

export interface DirectoryUsage {
  readonly directory: string;
  readonly bytes: number;
  readonly files: number;
}

async function walk(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return { bytes, files };
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = await walk(full);
      bytes += sub.bytes;
      files += sub.files;
    } else if (entry.isFile()) {
      // A file can vanish between readdir and stat (rotation, cache eviction): skip it.
      const stat = await fs.stat(full).catch(() => undefined);
      if (stat) {
        bytes += stat.size;
        files += 1;
      }
    }
  }
  return { bytes, files };
}

/** Bytes and files under each top-level directory of persistent_data/ (symlinks are not followed). */
export async function measureStorage(root: string): Promise<DirectoryUsage[]> {
  const entries = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
  const usage: DirectoryUsage[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    usage.push({ directory: entry.name, ...(await walk(path.join(root, entry.name))) });
  }
  return usage;
}
