import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { dataLayout } from '../../src/config/layout.js';
import { openTrackingStore } from '../../src/tracking/open.js';
import type { TrackingStore } from '../../src/tracking/store.js';
import { startPostgresServer, type PostgresServerHandle } from '../helpers/postgres-server.js';

/** One database the tracking suite runs against: a fresh SQLite file, or a fresh PostgreSQL database. */
export interface DatabaseTarget {
  readonly dialect: 'sqlite' | 'postgres';
  /** PERSISTENT_DATA_PATH of this target (SQLite lives inside it), for the CLI and the service. */
  readonly root: string;
  /** The environment that selects this database (DATABASE_URL for PostgreSQL). */
  readonly env: Readonly<Record<string, string>>;
  /** A new connection to the same store, as another process or replica would open it. */
  openStore(): Promise<TrackingStore>;
}

let server: Promise<PostgresServerHandle> | undefined;
let databases = 0;

/**
 * Runs `body` twice, once per database, each in its own describe block with a fresh store: the same tests prove
 * the SQLite default and the PostgreSQL option. The PostgreSQL cluster is started once per test file.
 */
export function forEachDatabase(title: string, body: (target: () => DatabaseTarget) => void): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    describe(`${title} (${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'})`, () => {
      let target: DatabaseTarget | undefined;
      before(async () => {
        const root = await mkdtemp(path.join(os.tmpdir(), `tracking-${dialect}-`));
        let env: Record<string, string> = {};
        if (dialect === 'postgres') {
          server ??= startPostgresServer();
          databases += 1;
          env = { DATABASE_URL: await (await server).createDatabase(`tracking_${process.pid}_${databases}`) };
        }
        const databaseUrl = env.DATABASE_URL;
        target = { dialect, root, env, openStore: () => openTrackingStore({ databaseUrl, layout: dataLayout(root) }) };
      });
      after(async () => {
        if (target) await rm(target.root, { recursive: true, force: true });
      });
      body(() => {
        if (!target) throw new Error('database target used before its before() hook ran');
        return target;
      });
    });
  }
  after(async () => {
    const running = server;
    server = undefined;
    if (running) await (await running).stop();
  });
}
