import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A small real tmpfs: a file system that really runs out of space (ENOSPC), for the full-disk drills. */
export interface Tmpfs {
  readonly dir: string;
  /** Writes a filler file until the file system refuses (ENOSPC): from then on every write fails. */
  fill(): Promise<void>;
  /** Deletes the filler: space returns. */
  free(): Promise<void>;
  /** Unmounts and removes the mount point (also registered with `t.after`). */
  unmount(): Promise<void>;
}

const FILLER = '.filler';

/**
 * Mounts a tmpfs of `sizeKiB` on a fresh temp folder (needs root). When that is impossible the drill fails,
 * naming why: a full-disk drill that cannot run proves nothing, and a skip would hide it.
 */
export async function mountTmpfs(t: TestContext, sizeKiB: number): Promise<Tmpfs> {
  const dir = await mkdtemp(path.join(tmpdir(), 'full-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755`, 'tmpfs', dir]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const reason = `cannot mount a tmpfs (needs root and mount): ${(error as Error).message.split('\n')[0] ?? ''}`;
    throw new Error(`${reason}; the full-disk drills need a real file system that runs out of space`);
  }
  let mounted = true;
  const unmount = async (): Promise<void> => {
    if (!mounted) return;
    mounted = false;
    await run('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  };
  t.after(unmount);
  return {
    dir,
    fill: async () => {
      const fd = openSync(path.join(dir, FILLER), 'a');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        closeSync(fd);
      }
    },
    free: () => rm(path.join(dir, FILLER), { force: true }),
    unmount,
  };
}
