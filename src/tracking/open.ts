import path from 'node:path';
import type { AppConfig } from '../config/env.js';
import { openTrackingDb, SQLITE_FILE_NAME } from './db/connect.js';
import { TrackingStore } from './store.js';

/** The tracking store the configuration names: PostgreSQL with DATABASE_URL, else SQLite in stock_data/predictions/. */
export async function openTrackingStore(config: Pick<AppConfig, 'databaseUrl' | 'layout'>, onIdleError?: (error: Error) => void): Promise<TrackingStore> {
  const db = await openTrackingDb({ databaseUrl: config.databaseUrl, sqliteFile: path.join(config.layout.predictions, SQLITE_FILE_NAME), onIdleError });
  return new TrackingStore(db);
}
