import path from 'node:path';
import type { DataLayout } from '../config/layout.js';
import { listArchives, newestArchive } from './backup-archives.js';
import { measureStorage, type DirectoryUsage } from '../observability/storage.js';
import type { ModelState } from './model-catalog.js';

export interface MonitorReport {
  readonly root: string;
  readonly generated_at: string;
  readonly directories: DirectoryUsage[];
  readonly total_bytes: number;
  readonly total_files: number;
  readonly backups: { readonly count: number; readonly last: { readonly file: string; readonly bytes: number; readonly created_at: string; readonly age_seconds: number } | null };
  readonly models: {
    readonly key: string; readonly version: string | null; readonly trained_at?: string; readonly age_days?: number;
    readonly data_to?: string; readonly mae_ratio?: number; readonly beats_naive?: boolean; readonly error?: string;
  }[];
  readonly health: { readonly url: string; readonly reachable: boolean; readonly http_status?: number; readonly status?: string; readonly error?: string } | null;
}

export async function checkHealth(url: string, timeoutMs = 2000): Promise<NonNullable<MonitorReport['health']>> {
  const target = new URL('/health', url).toString();
  try {
    const response = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => ({}))) as { status?: unknown };
    return { url: target, reachable: true, http_status: response.status, status: typeof body.status === 'string' ? body.status : 'unknown' };
  } catch (error) {
    return { url: target, reachable: false, error: (error as Error).message };
  }
}

export interface MonitorOptions {
  readonly layout: DataLayout;
  readonly models: readonly ModelState[];
  readonly healthUrl?: string | undefined;
  readonly now?: Date;
}

export async function monitor(options: MonitorOptions): Promise<MonitorReport> {
  const now = options.now ?? new Date();
  const directories = (await measureStorage(options.layout.root)).sort((a, b) => a.directory.localeCompare(b.directory));
  const archives = await listArchives(options.layout.backups);
  const newest = await newestArchive(options.layout.backups);
  const last: MonitorReport['backups']['last'] = newest === undefined ? null : {
    file: newest.file,
    bytes: newest.bytes,
    created_at: new Date(newest.mtimeMs).toISOString(),
    age_seconds: Math.round((now.getTime() - newest.mtimeMs) / 1000),
  };
  const models = options.models.map((state) => {
    const meta = state.metadata;
    if (meta === undefined) return { key: state.key, version: state.version, ...(state.error === undefined ? {} : { error: state.error }) };
    return {
      key: state.key,
      version: state.version,
      trained_at: meta.trained_at,
      age_days: Math.round(((now.getTime() - Date.parse(meta.trained_at)) / 86_400_000) * 10) / 10,
      data_to: meta.data.to,
      mae_ratio: meta.evaluation.mae_ratio,
      beats_naive: meta.beats_naive,
    };
  });
  return {
    root: options.layout.root,
    generated_at: now.toISOString(),
    directories,
    total_bytes: directories.reduce((sum, d) => sum + d.bytes, 0),
    total_files: directories.reduce((sum, d) => sum + d.files, 0),
    backups: { count: archives.length, last },
    models,
    health: options.healthUrl === undefined ? null : await checkHealth(options.healthUrl),
  };
}
