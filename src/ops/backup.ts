import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import type { DataLayout } from '../config/layout.js';
import { isNotFound, tempNameFor } from '../fs/atomic-file.js';
import { sha256File } from '../fs/file-digest.js';
import {
  archiveName, BACKUP_FORMAT, BACKUP_MANIFEST_NAME, SECTION_NAMES, sectionDirectory,
  type BackupManifest, type SectionName,
} from './backup-manifest.js';
import { listArchives } from './backup-archives.js';
import { BACKUP_SIGNATURE_NAME, signManifest } from './backup-signature.js';
import { deadLeftovers, exists, fileStamp, toPosix, walkFiles, type FileEntry } from './files.js';
import { aofFromSnapshot, takeRedisSnapshot } from './redis-snapshot.js';

export type BackupPhase = 'snapshot' | 'copy' | 'archive' | 'rotate';

export interface BackupProgress {
  readonly phase: BackupPhase;
  readonly done: number;
  readonly total: number;
  readonly bytes: number;
}

/** Current model version per model key, read from a (staged) ml_models folder; throws when a pointer names a missing version. */
export type ModelVersionReader = (mlModelsDir: string) => Promise<Record<string, string | null>>;

export interface BackupOptions {
  readonly layout: DataLayout;
  readonly appVersion: string;
  readonly readModelVersions: ModelVersionReader;
  /** Keep this many archives (older ones are deleted after a successful backup). */
  readonly keep: number;
  /** Log files modified within this many days are included. */
  readonly logDays: number;
  /** When set, Redis is asked to BGSAVE and its fresh dump.rdb is included. */
  readonly redisUrl?: string | undefined;
  /** Only these sections (default: all); a partial backup gets `_<label>` in its name. */
  readonly sections?: readonly SectionName[];
  readonly label?: string;
  /** BACKUP_HMAC_KEY: MANIFEST.sig (an HMAC of MANIFEST.json) is added, so a restore can check authenticity. */
  readonly hmacKey?: string | undefined;
  readonly now?: () => Date;
  readonly onProgress?: (progress: BackupProgress) => void;
}

export interface BackupResult {
  readonly archive: string;
  readonly manifest: BackupManifest;
  readonly archiveBytes: number;
  readonly seconds: number;
  readonly removed: string[];
}

/** A file's source path and its path inside the archive. */
interface PlannedFile {
  readonly source: string;
  readonly name: string;
  readonly size: number;
}

const MODEL_COPY_ATTEMPTS = 3;

/**
 * Writes backups/stock_prediction_backup_<UTC>.tar.gz while the service keeps running.
 * Files are first copied to a staging folder (each file the service writes is replaced by
 * rename, so every copy is a whole version of it), the manifest is computed from the copies,
 * and the archive is made from the copies only: it always matches its manifest. The model
 * folder is re-copied when a version switch raced the copy.
 */
export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const { layout } = options;
  const now = options.now ?? (() => new Date());
  const started = Date.now();
  const createdAt = now();
  await fs.mkdir(layout.backups, { recursive: true, mode: 0o755 });
  // Staging folders and temp archives of a backup process that died.
  for (const leftover of await deadLeftovers(layout.backups)) await fs.rm(leftover, { recursive: true, force: true });
  const staging = tempNameFor(path.join(layout.backups, 'staging'));
  await fs.mkdir(staging, { mode: 0o700 });
  try {
    let redis: BackupManifest['redis'] = { method: 'none', detail: 'no Redis URL configured' };
    const extra: PlannedFile[] = [];
    const wanted = options.sections ?? SECTION_NAMES;
    if (wanted.includes('redis') && options.redisUrl !== undefined && options.redisUrl !== '') {
      options.onProgress?.({ phase: 'snapshot', done: 0, total: 1, bytes: 0 });
      const snapshot = await takeRedisSnapshot(options.redisUrl, layout.redis);
      const size = (await fs.stat(snapshot.file)).size;
      const forms: string[] = [];
      if (snapshot.appendOnly !== false) {
        // The form an append-only Redis loads: a multi-part AOF whose base is the snapshot.
        const aof = aofFromSnapshot();
        extra.push({ source: snapshot.file, name: `redis/${aof.dir}/${aof.base}`, size });
        const manifestFile = path.join(staging, 'redis', aof.dir, aof.manifest);
        await fs.mkdir(path.dirname(manifestFile), { recursive: true, mode: 0o755 });
        await fs.writeFile(manifestFile, aof.manifestText, { mode: 0o644 });
        forms.push(`${aof.dir}/ with the snapshot as its base`);
      }
      if (snapshot.appendOnly !== true) {
        extra.push({ source: snapshot.file, name: `redis/${path.basename(snapshot.file)}`, size });
        forms.push(path.basename(snapshot.file));
      }
      redis = { method: 'bgsave', detail: `BGSAVE at ${new Date(snapshot.savedAt * 1000).toISOString()}, archived as ${forms.join(' and ')}` };
    }

    const plan = await planFiles(layout, wanted, options.logDays, createdAt, redis.method === 'bgsave');
    if (redis.method === 'none' && plan.some((file) => file.name.startsWith('redis/'))) {
      redis = { method: 'files', detail: 'copied persistent_data/redis as found (no Redis URL to ask for a fresh snapshot)' };
    }
    const files = [...plan, ...extra];
    const total = files.length;
    let done = 0;
    let bytes = 0;
    const skipped: string[] = [];
    const progress = (): void => options.onProgress?.({ phase: 'copy', done, total, bytes });
    for (const file of files) {
      if ((await copyInto(staging, file)) === 'unreadable') skipped.push(file.name);
      done += 1;
      bytes += file.size;
      progress();
    }

    let models = await readStagedModels(options.readModelVersions, staging);
    for (let attempt = 1; models === undefined; attempt += 1) {
      if (attempt >= MODEL_COPY_ATTEMPTS) throw new Error('ml_models kept changing during the backup (a version switch raced every copy); try again');
      await fs.rm(path.join(staging, 'ml_models'), { recursive: true, force: true });
      for (const file of await sectionFiles(layout, 'ml_models')) {
        await copyInto(staging, file);
      }
      models = await readStagedModels(options.readModelVersions, staging);
    }

    // The manifest describes the staged copies: exactly what goes into the archive.
    const digests: BackupManifest['files'] = {};
    let totalBytes = 0;
    for (const entry of await walkFiles(staging)) {
      digests[entry.rel] = { bytes: entry.size, sha256: await sha256File(path.join(staging, entry.rel)) };
      totalBytes += entry.size;
    }
    // Every section that exists is in the archive, even empty (restoring it empties it too);
    // Redis only when there is something of it to restore.
    const sections: SectionName[] = [];
    for (const section of wanted) {
      const hasFiles = Object.keys(digests).some((name) => name.startsWith(`${section}/`));
      const present = hasFiles || (section !== 'redis' && (await exists(sectionDirectory(layout, section))));
      if (!present) continue;
      await fs.mkdir(path.join(staging, section), { recursive: true, mode: 0o755 });
      sections.push(section);
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      created_at: createdAt.toISOString(),
      app_version: options.appVersion,
      sections,
      models,
      redis,
      log_days: options.logDays,
      totals: { files: Object.keys(digests).length, bytes: totalBytes },
      skipped,
      files: digests,
    };
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    await fs.writeFile(path.join(staging, BACKUP_MANIFEST_NAME), manifestText, { mode: 0o600 });
    const signature = options.hmacKey === undefined ? [] : [BACKUP_SIGNATURE_NAME];
    if (options.hmacKey !== undefined) await fs.writeFile(path.join(staging, BACKUP_SIGNATURE_NAME), signManifest(manifestText, options.hmacKey), { mode: 0o600 });

    options.onProgress?.({ phase: 'archive', done: 0, total: 1, bytes: totalBytes });
    const archive = await uniqueArchivePath(layout.backups, createdAt, options.label);
    const temp = tempNameFor(archive);
    try {
      // MANIFEST.json first, so a reader can check the manifest before the data streams by.
      await tar.create({ gzip: true, file: temp, cwd: staging, portable: true, mode: 0o640 }, [BACKUP_MANIFEST_NAME, ...signature, ...sections]);
      const handle = await fs.open(temp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.chmod(temp, 0o640);
      // Run as root on the host, the archive still belongs to the owner of backups/ (the app's uid).
      if (process.getuid?.() === 0) {
        const owner = await fs.stat(layout.backups);
        await fs.chown(temp, owner.uid, owner.gid);
      }
      await fs.rename(temp, archive);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    options.onProgress?.({ phase: 'archive', done: 1, total: 1, bytes: totalBytes });

    const removed = await rotateArchives(layout.backups, options.keep);
    const archiveBytes = (await fs.stat(archive)).size;
    return { archive, manifest, archiveBytes, seconds: (Date.now() - started) / 1000, removed };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

async function readStagedModels(read: ModelVersionReader, staging: string): Promise<Record<string, string | null> | undefined> {
  try {
    return await read(path.join(staging, 'ml_models'));
  } catch {
    return undefined;
  }
}

async function sectionFiles(layout: DataLayout, section: SectionName, keep: (entry: FileEntry) => boolean = () => true): Promise<PlannedFile[]> {
  const dir = sectionDirectory(layout, section);
  // A section nested in another one (a layout override) is backed up once, under its own name.
  const nested = SECTION_NAMES.filter((other) => other !== section)
    .map((other) => path.relative(dir, sectionDirectory(layout, other)))
    .filter((rel) => rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel))
    .map(toPosix);
  const entries = await walkFiles(dir, (rel) => nested.includes(rel));
  return entries.filter(keep).map((entry) => ({ source: path.join(dir, entry.rel), name: `${section}/${entry.rel}`, size: entry.size }));
}

async function planFiles(layout: DataLayout, sections: readonly SectionName[], logDays: number, now: Date, redisSnapshotTaken: boolean): Promise<PlannedFile[]> {
  const cutoff = now.getTime() - logDays * 86_400_000;
  const files: PlannedFile[] = [];
  for (const section of sections) {
    if (section === 'redis' && redisSnapshotTaken) continue; // the fresh dump is added on its own
    const keep = section === 'logs' ? (entry: FileEntry) => entry.mtimeMs >= cutoff : undefined;
    files.push(...(await sectionFiles(layout, section, keep)));
  }
  return files;
}

/**
 * Copies one file into the staging tree. `gone` when it disappeared meanwhile (a cache entry
 * evicted, an old version pruned); `unreadable` for a log file of another service's user
 * (Grafana keeps its log 0640) — anything else unreadable fails the backup.
 */
async function copyInto(staging: string, file: PlannedFile): Promise<'copied' | 'gone' | 'unreadable'> {
  const target = path.join(staging, ...file.name.split('/'));
  await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
  try {
    await fs.copyFile(file.source, target);
    return 'copied';
  } catch (error) {
    if (isNotFound(error)) return 'gone';
    if ((error as NodeJS.ErrnoException).code === 'EACCES' && file.name.startsWith('logs/')) return 'unreadable';
    throw error;
  }
}

async function uniqueArchivePath(dir: string, at: Date, label: string | undefined): Promise<string> {
  const stamp = label === undefined ? fileStamp(at) : `${fileStamp(at)}_${label}`;
  for (let n = 1; ; n += 1) {
    const candidate = path.join(dir, archiveName(n === 1 ? stamp : `${stamp}-${n}`));
    try {
      await fs.access(candidate);
    } catch (error) {
      if (isNotFound(error)) return candidate;
      throw error;
    }
  }
}

async function rotateArchives(dir: string, keep: number): Promise<string[]> {
  const archives = await listArchives(dir);
  const remove = archives.slice(0, Math.max(0, archives.length - keep));
  for (const file of remove) await fs.rm(file, { force: true });
  return remove;
}

