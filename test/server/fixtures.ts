import { mkdtemp, rm } from 'node:fs/promises';
import { after, before, type TestContext } from 'node:test';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type AppConfig } from '../../src/config/env.js';
import { CsvMarketData } from '../../src/market/csv.js';
import { selectBackend } from '../../src/ml/backend.js';
import { DEFAULT_TRAINING_CONFIG } from '../../src/ml/training/config.js';
import { trainModel } from '../../src/ml/training/train.js';
import { GLOBAL_MODEL_KEY, type TrainingConfig } from '../../src/ml/types.js';
import { ModelStore } from '../../src/model-store/store.js';
import { buildApp, type App, type BuildAppOptions } from '../../src/server/app.js';
import type { DataLayout } from '../../src/config/layout.js';
import { freePort } from '../helpers/free-port.js';
import { startServiceProcess, type ServiceProcess, type ServiceProcessOptions } from '../helpers/service-process.js';
import { sampleDir } from '../helpers/paths.js';
import { TINY_TRAINING_ENV } from '../helpers/tiny-training-env.js';

/** CI-sized training: a real LSTM on real prices, small enough to train in seconds. */
export const TINY_TRAINING: TrainingConfig = Object.freeze({
  ...DEFAULT_TRAINING_CONFIG,
  window: 10,
  horizon: 10,
  units: 8,
  epochs: 2,
  patience: 1,
  maxBars: 400,
});

export interface ModelsFixture {
  /** A "shipped models" folder: NVDA and AAPL models and the global model (trained on NVDA and AAPL). */
  readonly modelsDir: string;
  readonly scalersDir: string;
  readonly root: string;
  cleanup(): Promise<void>;
}

/** Trains tiny real models on the sample prices into a temp folder laid out like the shipped `models/`. */
export async function trainTinyModels(keys: readonly string[] = ['nvda', 'aapl', GLOBAL_MODEL_KEY]): Promise<ModelsFixture> {
  const root = await mkdtemp(path.join(tmpdir(), 'server-models-'));
  // The layout of the shipped `models/` folder that ModelStore.seedFrom reads: model folders at the top, scalers/ beside them.
  const modelsDir = root;
  const scalersDir = path.join(root, 'scalers');
  const store = new ModelStore({ modelsDir, scalersDir, keepVersions: 5 });
  const backend = await selectBackend('auto');
  const market = new CsvMarketData({ directory: sampleDir });
  for (const key of keys) {
    const symbols = key === GLOBAL_MODEL_KEY ? ['NVDA', 'AAPL'] : [key.toUpperCase()];
    const series = await Promise.all(symbols.map(async (symbol) => ({ symbol, bars: (await market.getBars(symbol)).slice(-TINY_TRAINING.maxBars) })));
    const trained = await trainModel({ key, series, config: TINY_TRAINING, backend, dataSource: 'csv' });
    await store.save(trained);
    trained.model.dispose();
  }
  return { root, modelsDir, scalersDir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export interface TestServer {
  readonly app: App;
  readonly config: AppConfig;
  readonly dataDir: string;
}

/** A fresh persistent_data in a temp folder, configured like production with test-sized limits. */
export async function makeDataDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'server-data-'));
}

export function testConfig(dataDir: string, env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    PERSISTENT_DATA_PATH: dataDir,
    LOG_LEVEL: 'info',
    MODEL_WATCH_INTERVAL: '0',
    RATE_LIMIT_MAX: '100000',
    // Load shedding has its own tests; elsewhere a busy test machine's event-loop lag must not turn answers into 503s.
    LOAD_MAX_EVENT_LOOP_DELAY: '0',
    LOAD_MAX_QUEUE_WAIT: '0',
    API_KEYS: 'test-key-123456',
    ...TINY_TRAINING_ENV,
    ...env,
  });
}

/** Builds the real app on `dataDir` (seeded from the fixture's models and the sample CSVs) and waits until models are loaded. */
export async function startApp(
  models: ModelsFixture,
  dataDir: string,
  env: Record<string, string> = {},
  extra: Partial<BuildAppOptions> = {},
): Promise<TestServer> {
  const config = testConfig(dataDir, env);
  const app = await buildApp({ config, logToStdout: false, shippedModelsDir: models.modelsDir, sampleDataDir: sampleDir, ...extra });
  await app.ready();
  await app.started;
  return { app, config, dataDir };
}

export const API_KEY = 'test-key-123456';

/** Trains the tiny models once for the enclosing describe (before its tests) and removes them after. */
export function withTinyModels(keys?: readonly string[]): () => ModelsFixture {
  let models: ModelsFixture | undefined;
  before(async () => {
    models = await trainTinyModels(keys);
  });
  after(async () => {
    await models?.cleanup();
  });
  return () => {
    if (!models) throw new Error('the tiny models are trained in before()');
    return models;
  };
}

export interface ServiceUnderTest {
  readonly service: ServiceProcess;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly dataDir: string;
  readonly layout: DataLayout;
  /** The environment it was started with (to start it again on the same data). */
  readonly env: Record<string, string>;
}

/**
 * The real service (`node dist/src/main.js`, a child process) on a fresh persistent_data that holds the fixture's
 * models, on a free loopback port; `env` adds to or overrides the test defaults. Killed and removed after the test.
 */
export async function startServiceOn(
  t: TestContext,
  models: ModelsFixture,
  env: Record<string, string> = {},
  options: ServiceProcessOptions = {},
): Promise<ServiceUnderTest> {
  const dataDir = await makeDataDir();
  const layout = loadConfig({ PERSISTENT_DATA_PATH: dataDir }).layout;
  await new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers }).seedFrom(models.modelsDir);
  const port = await freePort();
  // No rate limit and no load shedding: these drills are about faults, and a loaded CI machine must not shed them.
  const fullEnv = { PERSISTENT_DATA_PATH: dataDir, PORT: String(port), HOST: '127.0.0.1', MODEL_WATCH_INTERVAL: '0', RATE_LIMIT_MAX: '100000', LOAD_MAX_EVENT_LOOP_DELAY: '0', LOAD_MAX_QUEUE_WAIT: '0', LOG_LEVEL: 'info', ...env };
  const service = startServiceProcess(fullEnv, options);
  // after-hooks run in the order they were added: the process is gone before its data directory is removed
  t.after(async () => {
    service.kill('SIGKILL');
    await service.done;
    await rm(dataDir, { recursive: true, force: true });
  });
  return { service, base: `http://127.0.0.1:${port}`, dataDir, layout, env: fullEnv };
}
