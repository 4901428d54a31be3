import type { AppConfig } from '../config/env.js';
import { openTrackingDb } from './db/connect.js';
import { TrackingStore } from './store.js';

/** The tracking store the configuration names: PostgreSQL with DATABASE_URL, else SQLite in stock_data/predictions/. */
export async function openTrackingStore(config: Pick<AppConfig, 'databaseUrl' | 'layout'>, onIdleError?: (error: Error) => void): Promise<TrackingStore> {
  const db = await openTrackingDb({ databaseUrl: config.databaseUrl, sqliteFile: config.layout.predictionsDb, onIdleError });
  return new TrackingStore(db);
}
