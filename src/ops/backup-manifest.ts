import { z } from 'zod';
import type { DataLayout } from '../config/layout.js';

export const BACKUP_MANIFEST_NAME = 'MANIFEST.json';
export const BACKUP_FORMAT = 'stock-prediction-backup/1';
export const ARCHIVE_PREFIX = 'stock_prediction_backup_';
export const ARCHIVE_SUFFIX = '.tar.gz';

/**
 * The parts of persistent_data a backup holds, by archive folder name. The names are fixed, the
 * folders follow the layout (which honours ML_MODEL_PATH, SCALERS_PATH, ... overrides).
 * `logs` is partial by design (recent files only), so a restore merges it instead of swapping it.
 */
export type SectionName = 'ml_models' | 'scalers' | 'ml_cache' | 'stock_data' | 'config' | 'logs' | 'redis';

export const SECTION_NAMES: readonly SectionName[] = ['ml_models', 'scalers', 'ml_cache', 'stock_data', 'config', 'logs', 'redis'];

export function sectionDirectory(layout: DataLayout, section: SectionName): string {
  switch (section) {
    case 'ml_models': return layout.mlModels;
    case 'scalers': return layout.scalers;
    case 'ml_cache': return layout.mlCache;
    case 'stock_data': return layout.stockData;
    case 'config': return layout.config;
    case 'logs': return layout.logs;
    case 'redis': return layout.redis;
  }
}

export function isMergedSection(section: SectionName): boolean {
  return section === 'logs';
}

const digestSchema = z.object({ bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  created_at: z.string(),
  app_version: z.string(),
  sections: z.array(z.enum(SECTION_NAMES as [SectionName, ...SectionName[]])),
  models: z.record(z.string(), z.string().nullable()),
  redis: z.object({ method: z.enum(['bgsave', 'files', 'none']), detail: z.string() }),
  log_days: z.number(),
  totals: z.object({ files: z.number().int(), bytes: z.number().int() }),
  /** Log files of other services the backup could not read (listed, not archived). */
  skipped: z.array(z.string()).default([]),
  /** Archive path (`<section>/<path>`) → size and sha256. */
  files: z.record(z.string(), digestSchema),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type FileDigest = z.infer<typeof digestSchema>;

export class ArchiveRejectedError extends Error {}

export function parseBackupManifest(text: string, archive: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ArchiveRejectedError(`${archive}: ${BACKUP_MANIFEST_NAME} is not valid JSON`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ArchiveRejectedError(`${archive}: ${BACKUP_MANIFEST_NAME} is not a ${BACKUP_FORMAT} manifest (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`);
  }
  for (const name of Object.keys(parsed.data.files)) {
    if (!isSafeArchivePath(name, parsed.data.sections)) throw new ArchiveRejectedError(`${archive}: manifest names an unsafe path ${JSON.stringify(name)}`);
  }
  return parsed.data;
}

/** `<section>/<relative path>` with no `..`, no absolute part, inside a declared section. */
export function isSafeArchivePath(name: string, sections: readonly string[]): boolean {
  const parts = name.split('/');
  if (parts.length < 2 || !sections.includes(parts[0] ?? '')) return false;
  return parts.every((part) => part !== '' && part !== '.' && part !== '..' && !part.includes('\\') && !part.includes('\0'));
}

export function archiveName(stamp: string): string {
  return `${ARCHIVE_PREFIX}${stamp}${ARCHIVE_SUFFIX}`;
}

export function isArchiveName(name: string): boolean {
  return name.startsWith(ARCHIVE_PREFIX) && name.endsWith(ARCHIVE_SUFFIX);
}
