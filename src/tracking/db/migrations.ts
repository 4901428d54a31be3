import type { Kysely, Migration, MigrationProvider } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * The tracking schema's migrations, compiled into the package (never read from a folder at run time), applied in
 * name order at start-up by Kysely's Migrator, which records them in kysely_migration and takes a lock while it runs.
 * Never edit a shipped migration: add the next one.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  const idColumn = dialect === 'postgres' ? 'serial' : 'integer';
  return {
    '001_prediction_tracking': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('forecasts')
          .addColumn('id', idColumn, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('symbol', 'text', (c) => c.notNull())
          .addColumn('issue_date', 'text', (c) => c.notNull())
          .addColumn('horizon', 'integer', (c) => c.notNull())
          .addColumn('model_key', 'text', (c) => c.notNull())
          .addColumn('model_version', 'text', (c) => c.notNull())
          .addColumn('target_date', 'text', (c) => c.notNull())
          .addColumn('forecast', 'double precision', (c) => c.notNull())
          .addColumn('lower_80', 'double precision', (c) => c.notNull())
          .addColumn('upper_80', 'double precision', (c) => c.notNull())
          .addColumn('lower_95', 'double precision', (c) => c.notNull())
          .addColumn('upper_95', 'double precision', (c) => c.notNull())
          .addColumn('confidence', 'double precision')
          .addColumn('signal', 'text', (c) => c.notNull())
          .addColumn('naive_forecast', 'double precision', (c) => c.notNull())
          .addColumn('backfilled', 'integer', (c) => c.notNull())
          .addColumn('in_sample', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('actual', 'double precision')
          .addColumn('abs_error', 'double precision')
          .addColumn('pct_error', 'double precision')
          .addColumn('naive_abs_error', 'double precision')
          .addColumn('direction_correct', 'integer')
          .addColumn('actual_up', 'integer')
          .addColumn('inside_80', 'integer')
          .addColumn('inside_95', 'integer')
          .addColumn('scored_at', 'text')
          .addUniqueConstraint('forecasts_key', ['symbol', 'issue_date', 'horizon', 'model_version'])
          .execute();
        // Scoring looks up the unscored rows of a symbol up to a date; the API filters by symbol and target date.
        await db.schema.createIndex('forecasts_unscored').on('forecasts').columns(['symbol', 'scored_at', 'target_date']).execute();
        await db.schema.createIndex('forecasts_target').on('forecasts').columns(['target_date']).execute();
        await db.schema
          .createTable('daily_runs')
          .addColumn('id', idColumn, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('execution_date', 'text', (c) => c.notNull())
          .addColumn('execution_type', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('total_symbols', 'integer', (c) => c.notNull())
          .addColumn('symbols_succeeded', 'text', (c) => c.notNull())
          .addColumn('symbols_failed', 'text', (c) => c.notNull())
          .addColumn('successful_predictions', 'integer', (c) => c.notNull())
          .addColumn('failed_predictions', 'integer', (c) => c.notNull())
          .addColumn('recorded_forecasts', 'integer', (c) => c.notNull())
          .addColumn('scored_forecasts', 'integer', (c) => c.notNull())
          .addColumn('execution_duration_ms', 'integer')
          .addColumn('error_message', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('completed_at', 'text')
          .execute();
        await db.schema.createIndex('daily_runs_date').on('daily_runs').columns(['execution_date']).execute();
        await db.schema
          .createTable('run_locks')
          .addColumn('execution_date', 'text', (c) => c.primaryKey())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '002_probability_up': {
      // The direction a next-session forecast calls: the side probability_up favours (the one `confidence` is about).
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema.alterTable('forecasts').addColumn('probability_up', 'double precision').execute();
      },
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
