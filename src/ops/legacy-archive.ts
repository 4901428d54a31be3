import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import type { DataLayout } from '../config/layout.js';
import { DIR_MODE, isNotFound, tempNameFor } from '../fs/atomic-file.js';
import { sha256File } from '../fs/file-digest.js';
import { readArchiveFiles } from './archive-files.js';
import { ArchiveRejectedError } from './backup-manifest.js';
import { fileStamp } from './files.js';

/**
 * Backups made by the original system's `backup_data.sh`: a tar.gz of
 * `stock_prediction_backup_<ts>/` holding `backup_info.json` and copies of ml_models, ml_cache,
 * scalers, stock_data, config and recent logs — without checksums. `ml_models`, `scalers`,
 * `stock_data` and `config` are restored into the new layout file by file; caches and logs are
 * not (they are rebuilt). A file already present and newer than the archive's copy is kept unless
 * the caller asks otherwise, and every such file is named in the plan.
 */

export const LEGACY_INFO_NAME = 'backup_info.json';
export const LEGACY_SECTIONS = ['ml_models', 'scalers', 'stock_data', 'config'] as const;
type LegacySection = (typeof LEGACY_SECTIONS)[number];
const MAX_ENTRIES = 200_000;

export interface LegacyEntry {
  /** Path inside the archive. */
  readonly name: string;
  readonly section: LegacySection;
  /** Path inside the section. */
  readonly rel: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly mtime: Date;
}

export interface LegacyArchive {
  readonly archive: string;
  /** backup_info.json as written by the original script. */
  readonly info: Record<string, unknown>;
  readonly entries: readonly LegacyEntry[];
  /** Top-level folders (e.g. ml_cache, logs) and files that are not restored, with their file counts. */
  readonly skipped: Readonly<Record<string, number>>;
}

/** What happens to one file: written where nothing was, left alone (same content), replaced (older copy kept), or kept (newer). */
export type LegacyAction = 'add' | 'same' | 'replace' | 'keep-newer' | 'replace-newer';

export interface LegacyPlanEntry extends LegacyEntry {
  readonly target: string;
  readonly action: LegacyAction;
  /** Modification time of the file already there, for 'replace', 'keep-newer' and 'replace-newer'. */
  readonly existingMtime?: Date;
}

export interface LegacyPlan {
  readonly archive: LegacyArchive;
  readonly files: readonly LegacyPlanEntry[];
}

function sectionDir(layout: DataLayout, section: LegacySection): string {
  return { ml_models: layout.mlModels, scalers: layout.scalers, stock_data: layout.stockData, config: layout.config }[section];
}

/** `a/b/c` without empty, `.` or `..` parts and not absolute; undefined otherwise. */
function safeParts(name: string): string[] | undefined {
  if (name.startsWith('/') || name.includes('\\')) return undefined;
  const parts = name.replace(/\/$/, '').split('/');
  return parts.every((p) => p !== '' && p !== '.' && p !== '..') ? parts : undefined;
}

/**
 * Reads the whole archive once (hashing every file), finds backup_info.json at its top or one
 * folder down, and sorts the files into sections. A truncated archive, a link, a path leaving the
 * archive or an archive without backup_info.json is refused. Nothing is written.
 */
export async function readLegacyArchive(archive: string): Promise<LegacyArchive> {
  let count = 0;
  const read = await readArchiveFiles(
    archive,
    (name) => name.split('/').at(-1) === LEGACY_INFO_NAME && name.split('/').length <= 2,
    ({ name, type }) => {
      if (safeParts(name) === undefined) return `${name} is not a safe relative path`;
      if (type !== 'Directory' && type !== 'File' && type !== 'OldFile') return `${name} is a ${type}, only files are restored`;
      return (count += 1) > MAX_ENTRIES ? `more than ${MAX_ENTRIES} entries` : undefined;
    },
  );
  const files = read.map((f) => ({ ...f, parts: safeParts(f.name) as string[] }));
  const infoFile = files.find((f) => f.text !== undefined);
  if (infoFile === undefined) throw new ArchiveRejectedError(`${archive} has no ${LEGACY_INFO_NAME}: not a backup of the original system`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(infoFile.text as string);
  } catch {
    throw new ArchiveRejectedError(`${archive}: ${LEGACY_INFO_NAME} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ArchiveRejectedError(`${archive}: ${LEGACY_INFO_NAME} is not a JSON object`);
  const depth = infoFile.parts.length - 1;
  const prefix = infoFile.parts.slice(0, depth);
  const entries: LegacyEntry[] = [];
  const skipped: Record<string, number> = {};
  for (const f of files) {
    if (f === infoFile) continue;
    const inside = f.parts.slice(0, depth).join('/') === prefix.join('/') ? f.parts.slice(depth) : undefined;
    const top = inside?.[0] ?? f.parts[0] as string;
    if (inside !== undefined && inside.length >= 2 && (LEGACY_SECTIONS as readonly string[]).includes(top)) {
      entries.push({ name: f.parts.join('/'), section: top as LegacySection, rel: inside.slice(1).join('/'), bytes: f.bytes, sha256: f.sha256, mtime: f.mtime });
    } else {
      skipped[top] = (skipped[top] ?? 0) + 1;
    }
  }
  return { archive, info: parsed as Record<string, unknown>, entries: entries.sort((a, b) => (a.name < b.name ? -1 : 1)), skipped };
}

/** What restoring would do to each file (read-only). */
export async function planLegacyRestore(layout: DataLayout, archive: LegacyArchive, overwriteNewer: boolean): Promise<LegacyPlan> {
  const files: LegacyPlanEntry[] = [];
  for (const entry of archive.entries) {
    const base = sectionDir(layout, entry.section);
    const target = path.join(base, ...entry.rel.split('/'));
    const existing = await fs.stat(target).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (existing === undefined) {
      files.push({ ...entry, target, action: 'add' });
      continue;
    }
    if (!existing.isFile()) throw new ArchiveRejectedError(`${target} exists and is not a file; the archive's ${entry.name} cannot be restored over it`);
    if (existing.size === entry.bytes && (await sha256File(target)) === entry.sha256) {
      files.push({ ...entry, target, action: 'same' });
      continue;
    }
    const newer = existing.mtime.getTime() > entry.mtime.getTime();
    const action: LegacyAction = newer ? (overwriteNewer ? 'replace-newer' : 'keep-newer') : 'replace';
    files.push({ ...entry, target, action, existingMtime: existing.mtime });
  }
  return { archive, files };
}

export interface LegacyRestoreResult {
  readonly written: readonly LegacyPlanEntry[];
  /** Where replaced files were moved (undefined when nothing was replaced). */
  readonly safetyCopy: string | undefined;
}

/**
 * Extracts the planned files into a temporary folder inside persistent_data, checks each against
 * the hash taken when the archive was read, and renames them into place; a file it replaces is
 * moved to backups/pre_legacy_restore_<UTC>/ first.
 */
export async function applyLegacyRestore(layout: DataLayout, plan: LegacyPlan, now = new Date()): Promise<LegacyRestoreResult> {
  const todo = plan.files.filter((f) => f.action === 'add' || f.action === 'replace' || f.action === 'replace-newer');
  if (todo.length === 0) return { written: [], safetyCopy: undefined };
  await fs.mkdir(layout.root, { recursive: true, mode: DIR_MODE });
  const staging = tempNameFor(path.join(layout.root, 'legacy-restore'));
  await fs.mkdir(staging, { mode: 0o700 });
  const wanted = new Set(todo.map((f) => f.name));
  const safetyDir = path.join(layout.backups, `pre_legacy_restore_${fileStamp(now)}`);
  let safetyCopy: string | undefined;
  try {
    await tar.x({ file: plan.archive.archive, cwd: staging, strict: true, filter: (name) => wanted.has(name.replace(/\/$/, '')) });
    for (const f of todo) {
      const staged = path.join(staging, ...f.name.split('/'));
      if ((await sha256File(staged)) !== f.sha256) throw new ArchiveRejectedError(`${plan.archive.archive}: ${f.name} changed between reading and extracting`);
    }
    for (const f of todo) {
      if (f.action !== 'add') {
        const keep = path.join(safetyDir, f.section, ...f.rel.split('/'));
        await fs.mkdir(path.dirname(keep), { recursive: true, mode: 0o750 });
        await fs.rename(f.target, keep);
        safetyCopy = safetyDir;
      }
      await fs.mkdir(path.dirname(f.target), { recursive: true, mode: DIR_MODE });
      await fs.rename(path.join(staging, ...f.name.split('/')), f.target);
    }
    return { written: todo, safetyCopy };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
