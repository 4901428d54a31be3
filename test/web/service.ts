import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/env.js';
import { buildApp } from '../../src/server/app.js';
import { repoRoot } from '../helpers/paths.js';
import { shippedModelKeys, trainTinyModels } from './tiny-models.js';

export interface RunningService {
  /** Base URL on loopback, e.g. http://127.0.0.1:40123/ */
  readonly url: string;
  /** Symbols with a ready model of their own, in the API's order (the page opens on the first). */
  readonly symbols: readonly string[];
  /** Stops the service and removes its data; safe to call twice. */
  close(): Promise<void>;
}

const webDir = path.join(repoRoot, 'dist', 'web');

/**
 * The real service (buildApp) on a free loopback port over a temporary PERSISTENT_DATA_PATH, seeded with
 * the shipped models from models/ when there are any, else with tiny real models trained here on the
 * sample CSVs. It serves the dashboard build from dist/web.
 */
export async function startService(): Promise<RunningService> {
  if (!existsSync(path.join(webDir, 'index.html'))) {
    throw new Error(`${webDir}/index.html is missing: build the dashboard first (npm run build, or node scripts/build-web.mjs)`);
  }
  const root = await mkdtemp(path.join(os.tmpdir(), 'web-e2e-'));
  let shippedModelsDir = path.join(repoRoot, 'models');
  if ((await shippedModelKeys()).filter((key) => key !== 'global').length < 2) {
    shippedModelsDir = path.join(root, 'shipped-models');
    await trainTinyModels(['NVDA', 'AAPL'], shippedModelsDir, path.join(shippedModelsDir, 'scalers'));
  }
  const config = loadConfig({
    PERSISTENT_DATA_PATH: path.join(root, 'persistent_data'),
    // The suite loads the page many times from one client; the 429 path is tested separately.
    RATE_LIMIT_MAX: '1000000',
    LOG_LEVEL: 'warn',
    MODEL_WATCH_INTERVAL: '0',
  });
  const app = await buildApp({ config, logToStdout: false, shippedModelsDir, webDir });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await rm(root, { recursive: true, force: true });
  };
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    await app.started;
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('service did not bind a TCP port');
    const url = `http://127.0.0.1:${address.port}/`;
    const ready = await fetch(new URL('/health/ready', url));
    if (ready.status !== 200) throw new Error(`service not ready: ${ready.status} ${await ready.text()}`);
    const list = (await (await fetch(new URL('/api/v1/models', url))).json()) as { models: { symbol: string; key: string; status: string }[] };
    const symbols = list.models.filter((m) => m.status === 'ready' && m.key !== 'global').map((m) => m.symbol);
    return { url, symbols, close };
  } catch (error) {
    await close();
    throw error;
  }
}
