import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { isNotFound } from '../fs/atomic-file.js';

export interface RedisSnapshot {
  /** The fresh dump.rdb, readable from here. */
  readonly file: string;
  readonly savedAt: number;
  /** Whether the server runs with appendonly (undefined when CONFIG is not available). */
  readonly appendOnly: boolean | undefined;
}

/**
 * Redis 7 with `appendonly yes` ignores a lone dump.rdb at start-up and begins empty. A
 * multi-part AOF whose base is that RDB is loaded instead: these are the files that restore it.
 */
export function aofFromSnapshot(): { readonly dir: string; readonly base: string; readonly manifest: string; readonly manifestText: string } {
  const base = 'appendonly.aof.1.base.rdb';
  return { dir: 'appendonlydir', base, manifest: 'appendonly.aof.manifest', manifestText: `file ${base} seq 1 type b\n` };
}

function infoField(info: string, field: string): string | undefined {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

/**
 * Asks Redis for a snapshot (BGSAVE), waits until it has finished, and returns where the
 * dump is. In the compose stack Redis writes to its /data, which is persistent_data/redis/
 * here; on a bare host its own `dir` is used when that is readable.
 */
export async function takeRedisSnapshot(url: string, redisDir: string, timeoutMs = 60_000): Promise<RedisSnapshot> {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  client.on('error', () => undefined); // surfaced by the awaited commands below
  try {
    await client.connect();
    const [seconds] = await client.time();
    const startedAt = Number(seconds);
    try {
      await client.bgsave();
    } catch (error) {
      // A save already running (e.g. triggered by `save` rules) is just as good once it ends after we asked.
      if (!/in progress/i.test((error as Error).message)) throw error;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await client.info('persistence');
      const running = infoField(info, 'rdb_bgsave_in_progress') === '1';
      const lastSave = Number(infoField(info, 'rdb_last_save_time') ?? 0);
      if (!running && lastSave >= startedAt) {
        if (infoField(info, 'rdb_last_bgsave_status') !== 'ok') throw new Error('Redis reported a failed BGSAVE (rdb_last_bgsave_status is not ok)');
        return { file: await locateDump(client, redisDir), savedAt: lastSave, appendOnly: await appendOnly(client) };
      }
      if (Date.now() > deadline) throw new Error(`Redis BGSAVE did not finish within ${timeoutMs / 1000}s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.disconnect();
  }
}

async function appendOnly(client: Redis): Promise<boolean | undefined> {
  try {
    const [, value] = (await client.config('GET', 'appendonly')) as string[];
    return value === undefined ? undefined : value === 'yes';
  } catch {
    return undefined;
  }
}

async function locateDump(client: Redis, redisDir: string): Promise<string> {
  let dbfilename = 'dump.rdb';
  const candidates: string[] = [];
  try {
    const [, name] = (await client.config('GET', 'dbfilename')) as string[];
    const [, dir] = (await client.config('GET', 'dir')) as string[];
    if (name) dbfilename = name;
    candidates.push(path.join(redisDir, dbfilename));
    if (dir) candidates.push(path.join(dir, dbfilename));
  } catch {
    candidates.push(path.join(redisDir, dbfilename)); // CONFIG renamed away: assume the compose layout
  }
  for (const candidate of candidates) {
    try {
      await fs.access(candidate);
      return candidate;
    } catch (error) {
      if (!isNotFound(error) && (error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
    }
  }
  throw new Error(`Redis saved its snapshot, but ${candidates.join(' or ')} is not readable from here`);
}
