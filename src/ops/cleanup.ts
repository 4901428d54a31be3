import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DataLayout } from '../config/layout.js';
import { listArchives } from './backup-archives.js';
import { deadLeftovers, walkFiles } from './files.js';
import type { OpsConfig } from './ops-config.js';
import { isNotFound } from '../fs/atomic-file.js';

export interface CleanupItem {
  readonly path: string;
  readonly bytes: number;
  readonly reason: string;
}

const DAY_MS = 86_400_000;

async function olderThan(dir: string, days: number, now: Date, reason: string, except: (file: string) => boolean = () => false): Promise<CleanupItem[]> {
  const cutoff = now.getTime() - days * DAY_MS;
  return (await walkFiles(dir))
    .filter((entry) => entry.mtimeMs < cutoff && !except(path.join(dir, entry.rel)))
    .map((entry) => ({ path: path.join(dir, entry.rel), bytes: entry.size, reason }));
}

async function dirSize(dir: string): Promise<number> {
  return (await walkFiles(dir)).reduce((sum, entry) => sum + entry.size, 0);
}

/**
 * What the retention rules of ml_config.json would delete (read-only): cache entries, cached
 * market-data responses, prediction records and log files past their age; backup archives and
 * pre-restore safety copies beyond their counts; leftovers of dead backup/restore processes.
 * The live log file is never touched.
 */
export async function planCleanup(layout: DataLayout, retention: OpsConfig['retention'], now: Date): Promise<CleanupItem[]> {
  const items: CleanupItem[] = [
    ...(await olderThan(layout.mlCache, retention.ml_cache_days, now, `ml_cache older than ${retention.ml_cache_days}d`)),
    ...(await olderThan(layout.stockDataCache, retention.stock_cache_days, now, `stock_data/cache older than ${retention.stock_cache_days}d`)),
    // The tracking database is the record itself, never an expired file (rows are kept; the file may sit unchanged for months).
    ...(await olderThan(layout.predictions, retention.predictions_days, now, `predictions older than ${retention.predictions_days}d`, (file) =>
      file.startsWith(layout.predictionsDb),
    )),
    ...(await olderThan(layout.logs, retention.logs_days, now, `log older than ${retention.logs_days}d`, (file) => file === layout.logFile)),
  ];
  const archives = await listArchives(layout.backups);
  for (const archive of archives.slice(0, Math.max(0, archives.length - retention.backups_keep))) {
    items.push({ path: archive, bytes: (await fs.stat(archive)).size, reason: `more than ${retention.backups_keep} backups` });
  }
  let names: string[] = [];
  try {
    names = (await fs.readdir(layout.backups)).sort();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const safetyCopies = names.filter((name) => name.startsWith('pre_restore_'));
  for (const name of safetyCopies.slice(0, Math.max(0, safetyCopies.length - retention.safety_copies_keep))) {
    const dir = path.join(layout.backups, name);
    items.push({ path: dir, bytes: await dirSize(dir), reason: `more than ${retention.safety_copies_keep} pre-restore safety copies` });
  }
  for (const dir of [layout.backups, layout.root]) {
    for (const leftover of await deadLeftovers(dir)) {
      items.push({ path: leftover, bytes: await dirSize(leftover).catch(() => 0), reason: 'leftover of a process that died' });
    }
  }
  return items;
}

export async function applyCleanup(items: readonly CleanupItem[]): Promise<void> {
  for (const item of items) await fs.rm(item.path, { recursive: true, force: true });
}
