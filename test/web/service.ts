import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/env.js';
import type { DataLayout } from '../../src/config/layout.js';
import { GLOBAL_MODEL_KEY } from '../../src/ml/types.js';
import { ModelStore } from '../../src/model-store/store.js';
import { buildApp } from '../../src/server/app.js';
import { repoRoot } from '../helpers/paths.js';
import { trainTinyModels } from './tiny-models.js';

export interface RunningService {
  /** Base URL on loopback, e.g. http://127.0.0.1:40123/ */
  readonly url: string;
  /** Symbols with a ready model of their own, in the API's order (the page opens on the first). */
  readonly symbols: readonly string[];
  /** A sample symbol with price data but no model of its own: the global model answers for it. */
  readonly fallbackSymbol: string;
  /** Which models the service runs: the shipped ones from models/, or tiny ones trained for the test. */
  readonly models: 'shipped' | 'tiny';
  /** Stops the service and removes its data; safe to call twice. */
  close(): Promise<void>;
}

/** GET `route` of the running service, which must answer 200: the figures the page is checked against. */
export async function getJson<T>(service: RunningService, route: string): Promise<T> {
  const response = await fetch(new URL(route, service.url));
  assert.equal(response.status, 200, `${route} answered ${response.status}`);
  return (await response.json()) as T;
}

const webDir = path.join(repoRoot, 'dist', 'web');
const shippedDir = path.join(repoRoot, 'models');

/**
 * Fills the temporary store: with the shipped models when models/ holds per-symbol models and a global one
 * (one symbol's own model is then left out, so the global model has a symbol to answer for), else with
 * tiny real models trained here on the sample CSVs.
 */
async function prepareModels(store: ModelStore): Promise<{ fallbackSymbol: string; models: 'shipped' | 'tiny' }> {
  const shipped = await new ModelStore({ modelsDir: shippedDir, scalersDir: path.join(shippedDir, 'scalers') }).keys();
  const own = shipped.filter((key) => key !== GLOBAL_MODEL_KEY);
  if (shipped.includes(GLOBAL_MODEL_KEY) && own.length >= 3) {
    await store.seedFrom(shippedDir);
    const left = own[own.length - 1] ?? '';
    await rm(store.modelDir(left), { recursive: true, force: true });
    return { fallbackSymbol: left.toUpperCase(), models: 'shipped' };
  }
  await trainTinyModels(store, ['NVDA', 'AAPL'], ['MSFT']);
  return { fallbackSymbol: 'MSFT', models: 'tiny' };
}

/**
 * The real service (buildApp) on a free loopback port over a temporary PERSISTENT_DATA_PATH, with real
 * models (see prepareModels) and the sample CSVs it seeds itself. It serves the dashboard from dist/web.
 */
export interface StartOptions {
  /** Runs after the models are in place and before the service starts, on its persistent_data (e.g. a backfill). */
  readonly prepare?: (layout: DataLayout) => Promise<void>;
}

export async function startService(options: StartOptions = {}): Promise<RunningService> {
  if (!existsSync(path.join(webDir, 'index.html'))) {
    throw new Error(`${webDir}/index.html is missing: build the dashboard first (npm run build, or node scripts/build-web.mjs)`);
  }
  const root = await mkdtemp(path.join(os.tmpdir(), 'web-e2e-'));
  const config = loadConfig({
    PERSISTENT_DATA_PATH: path.join(root, 'persistent_data'),
    // The suite loads the page many times from one client; the 429 path is tested with an intercepted answer.
    RATE_LIMIT_MAX: '1000000',
    // Load shedding is tested on its own; a busy machine must not shed the page's requests here.
    LOAD_MAX_EVENT_LOOP_DELAY: '0',
    LOAD_MAX_QUEUE_WAIT: '0',
    LOG_LEVEL: 'warn',
    MODEL_WATCH_INTERVAL: '0',
  });
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app?.close();
    await rm(root, { recursive: true, force: true });
  };
  try {
    const prepared = await prepareModels(new ModelStore({ modelsDir: config.layout.mlModels, scalersDir: config.layout.scalers }));
    await options.prepare?.(config.layout);
    app = await buildApp({ config, logToStdout: false, webDir });
    await app.listen({ port: 0, host: '127.0.0.1' });
    await app.started;
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('service did not bind a TCP port');
    const url = `http://127.0.0.1:${address.port}/`;
    const ready = await fetch(new URL('/health/ready', url));
    if (ready.status !== 200) throw new Error(`service not ready: ${ready.status} ${await ready.text()}`);
    const list = (await (await fetch(new URL('/api/v1/models', url))).json()) as { models: { symbol: string; key: string; status: string }[] };
    const symbols = list.models.filter((m) => m.status === 'ready' && m.key !== GLOBAL_MODEL_KEY).map((m) => m.symbol);
    return { url, symbols, close, ...prepared };
  } catch (error) {
    await close();
    throw error;
  }
}
