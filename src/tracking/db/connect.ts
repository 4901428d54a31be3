import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import { migrationProvider, type Dialect } from './migrations.js';
import type { TrackingDatabase } from './schema.js';

export interface TrackingDb {
  readonly db: Kysely<TrackingDatabase>;
  readonly dialect: Dialect;
  /** Where the rows live, for logs: the SQLite file, or the PostgreSQL host/database (no credentials). */
  readonly where: string;
  close(): Promise<void>;
}

export interface OpenTrackingDbOptions {
  /** postgres:// URL: PostgreSQL (shared by replicas). Unset: the embedded SQLite file. */
  readonly databaseUrl?: string | undefined;
  readonly sqliteFile: string;
  /** An idle PostgreSQL connection failed (server restart, network): the pool drops it and reconnects on demand. */
  readonly onIdleError?: ((error: Error) => void) | undefined;
}

/** Opens the tracking database and applies every shipped migration not yet applied. */
export async function openTrackingDb(options: OpenTrackingDbOptions): Promise<TrackingDb> {
  let db: Kysely<TrackingDatabase>;
  let dialect: Dialect;
  let where: string;
  if (options.databaseUrl) {
    const url = new URL(options.databaseUrl);
    where = `postgres://${url.hostname}:${url.port || 5432}${url.pathname}`;
    dialect = 'postgres';
    // pg is imported only for PostgreSQL (DATABASE_URL); the default store is SQLite.
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 5 });
    // Without a listener an idle client's error (e.g. PostgreSQL restarting) would be an uncaught exception.
    pool.on('error', (error) => options.onIdleError?.(error));
    db = new Kysely<TrackingDatabase>({ dialect: new PostgresDialect({ pool }) });
  } else {
    fs.mkdirSync(path.dirname(options.sqliteFile), { recursive: true, mode: 0o755 });
    const sqlite = new Database(options.sqliteFile);
    // WAL: readers (the API) never block the writer (a daily run), and a crash leaves the last committed state.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    // A backfill CLI and the service may write the same file: wait for the other's transaction instead of failing.
    sqlite.pragma('busy_timeout = 10000');
    where = options.sqliteFile;
    dialect = 'sqlite';
    db = new Kysely<TrackingDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  try {
    await migrate(db, dialect);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, dialect, where, close: () => db.destroy() };
}

const MIGRATION_ATTEMPTS = 5;

/**
 * Applies pending migrations. PostgreSQL serializes concurrent migrators with an advisory lock; SQLite has none across
 * connections, so when two processes open a fresh file at once the loser's transaction fails (its table already
 * exists) and rolls back: it then tries again and finds the migration applied.
 */
async function migrate(db: Kysely<TrackingDatabase>, dialect: Dialect): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const { error, results } = await new Migrator({ db, provider: migrationProvider(dialect) }).migrateToLatest();
    if (!error) return;
    if (attempt >= MIGRATION_ATTEMPTS) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new Error(`tracking database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
}
