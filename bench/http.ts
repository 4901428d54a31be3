/**
 * HTTP benchmark of the real service on loopback, each figure beside its reference from the same run:
 *
 *   npm run -s build && node dist/bench/http.js [--duration 8] [--connections 50] [--models 200] [--only overload|startup]
 *
 * - cached GET /api/v1/predict/:symbol throughput vs a bare Fastify route returning the same JSON (ratio);
 * - p50/p99 of cached predictions at 50 connections;
 * - uncached single prediction latency per tfjs backend;
 * - per-prediction cost when N uncached requests for different symbols/horizons arrive together;
 * - time from process start to /health/ready with the shipped models and with 200 models.
 *
 * Every server is a separate `node` process (dist/src/main.js, or this file in `bare` mode); autocannon
 * runs in this process. The machine has 2 cores shared by both, so compare figures within one run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { loadConfig } from '../src/config/env.js';
import { packageRoot } from '../src/config/package-root.js';
import { dataLayout } from '../src/config/layout.js';
import { CsvMarketData } from '../src/market/csv.js';
import { selectBackend } from '../src/ml/backend.js';
import { DEFAULT_TRAINING_CONFIG } from '../src/ml/training/config.js';
import { trainModel } from '../src/ml/training/train.js';
import { serializeScaler } from '../src/ml/scaler.js';
import type { ModelMetadata } from '../src/ml/types.js';
import { ModelStore } from '../src/model-store/store.js';
import rateLimitPlugin from '../src/server/plugins/rate-limit.js';
import { PredictQuery, SymbolParams } from '../src/server/schemas.js';
import { capture, profiling, stopProfile, topFrames, type Profiling } from './profile.js';
import { printProfiles, printTable, type Row } from './table.js';

const SELF = fileURLToPath(import.meta.url);
const MAIN = path.join(path.dirname(SELF), '..', 'src', 'main.js');
const API_KEY = 'bench-key-0123456789';
const SAMPLE_DIR = path.join(packageRoot, 'data', 'sample');
const SHIPPED_DIR = path.join(packageRoot, 'models');

interface Server {
  readonly url: string;
  readonly process: ChildProcess;
  readonly startedAt: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = Fastify();
    server.listen({ port: 0, host: '127.0.0.1' }).then(
      () => {
        const address = server.server.address();
        const port = typeof address === 'object' && address !== null ? address.port : 0;
        void server.close().then(() => resolve(port));
      },
      (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
    );
  });
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(url).then((r) => r.status).catch(() => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

function spawnNode(args: string[], env: Record<string, string>, profile?: Profiling): ChildProcess {
  const child = spawn(process.execPath, [...(profile?.nodeArgs ?? []), ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env, ...profile?.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`server exited with ${code}: ${stderr}\n`);
  });
  return child;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

/** Starts `node dist/src/main.js` on a free port and resolves once /health/ready is 200. */
const READY_TIMEOUT_MS = 120_000;

async function startService(dataDir: string, env: Record<string, string> = {}, profile?: Profiling): Promise<Server & { readySeconds: number }> {
  const port = await freePort();
  const startedAt = performance.now();
  const child = spawnNode([MAIN], {
    PERSISTENT_DATA_PATH: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_MAX: '1000000000',
    API_KEYS: API_KEY,
    MODEL_WATCH_INTERVAL: '0',
    // Throughput and latency rows measure the work, not the shedding (the overload row turns it on).
    LOAD_MAX_EVENT_LOOP_DELAY: '0',
    LOAD_MAX_QUEUE_WAIT: '0',
    ...env,
  }, profile);
  const url = `http://127.0.0.1:${port}`;
  // Generous for 1,000 models on a loaded machine (2–9 s seen); a service that never gets ready fails the bench, and is stopped.
  try {
    await waitFor(`${url}/health/ready`, READY_TIMEOUT_MS);
  } catch (error) {
    await stopper(child)();
    throw error;
  }
  return { url, process: child, startedAt, readySeconds: (performance.now() - startedAt) / 1000, stop: stopper(child) };
}

type ReferenceKind = 'bare' | 'stack' | 'bare-logging';

/**
 * `node dist/bench/http.js bare|stack PORT FILE`: a reference server with one route sending the same JSON
 * object. `bare` is plain Fastify; `stack` adds what every API request of the service pays before its
 * handler (rate limiting, zod validation of the same params and query, the request-id header), which
 * splits the service's cost into "plugin stack" and "handler, cache and metrics".
 */
async function runReference(kind: ReferenceKind, port: number, file: string): Promise<void> {
  const body = JSON.parse(await readFile(file, 'utf8')) as unknown;
  // bare-logging: Fastify's own request logging (a line per request and per response) to a pino file destination.
  const logger: FastifyBaseLogger | undefined = kind === 'bare-logging' ? pino({ level: 'info' }, pino.destination({ dest: `${file}.log`, sync: false })) : undefined;
  const app = Fastify(logger ? { loggerInstance: logger } : {});
  if (kind === 'bare' || kind === 'bare-logging') {
    app.get('/api/v1/predict/:symbol', async () => body);
  } else {
    await app.register(rateLimitPlugin, { max: 1_000_000_000, windowSeconds: 60 });
    app.setValidatorCompiler(validatorCompiler);
    app.addHook('onRequest', (request, reply, done) => {
      void reply.header('X-Request-Id', String(request.id));
      done();
    });
    app.withTypeProvider<ZodTypeProvider>().get('/api/v1/predict/:symbol', { schema: { params: SymbolParams, querystring: PredictQuery } }, async () => body);
  }
  await app.listen({ port, host: '127.0.0.1' });
}

/**
 * `fill` on a new folder under the system's temporary one (name starting with `prefix`). The folder is the caller's to
 * remove once `fill` succeeds; if `fill` fails it is removed here, so a failing step leaves nothing in /tmp.
 */
async function temporaryDir<T>(prefix: string, fill: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  try {
    return await fill(dir);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startReference(kind: ReferenceKind, body: unknown): Promise<Server> {
  return temporaryDir('bench-bare-', async (dir) => {
    const file = path.join(dir, 'body.json');
    await writeFile(file, JSON.stringify(body));
    const port = await freePort();
    const child = spawnNode([SELF, kind, String(port), file], {});
    const url = `http://127.0.0.1:${port}`;
    const stop = stopper(child);
    try {
      await waitFor(`${url}/api/v1/predict/NVDA`, 30_000);
    } catch (error) {
      await stop();
      throw error;
    }
    return {
      url,
      process: child,
      startedAt: 0,
      stop: async () => {
        await stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits);
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function timed(url: string, init?: RequestInit): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, init);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return performance.now() - t0;
}

const clearCache = (url: string) => fetch(`${url}/api/v1/cache/clear`, { method: 'POST', headers: { 'x-api-key': API_KEY } }).then((r) => r.arrayBuffer());

/**
 * `work` on a new persistent_data with the given models (the service seeds the shipped ones when none are given),
 * removed however `work` ends: a failed row leaves no persistent_data (~190 MB after the 500-symbol row) in /tmp.
 */
async function withDataDir<T>(models: string | undefined, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-data-'));
  try {
    if (models) {
      const layout = dataLayout(dir);
      await new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers }).seedFrom(models);
    }
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function hasShippedModels(): Promise<boolean> {
  const entries = await readdir(SHIPPED_DIR).catch(() => [] as string[]);
  return entries.some((e) => e.endsWith('_lstm_model'));
}

/** What saveModel takes: the store assigns version and scaler checksum itself. */
function withoutVersion(metadata: Omit<ModelMetadata, 'version' | 'scaler_sha256'> & Partial<ModelMetadata>): Omit<ModelMetadata, 'version' | 'scaler_sha256'> {
  const copy = Object.fromEntries(Object.entries(metadata).filter(([name]) => name !== 'version' && name !== 'scaler_sha256'));
  return copy as Omit<ModelMetadata, 'version' | 'scaler_sha256'>;
}

/** Keys b000, b001, ... for generated models. */
const generatedKeys = (count: number): string[] => Array.from({ length: count }, (_, i) => `b${String(i).padStart(3, '0')}`);

/**
 * Valid models under the given keys, each a real saved copy of one trained network (the shipped NVDA
 * model when present, else one trained here): loading 200 of them costs what loading 200 real models
 * costs, without training 200 networks on 2 cores.
 */
async function generateModels(keys: readonly string[]): Promise<{ dir: string; source: string }> {
  return temporaryDir('bench-models-', async (dir) => ({ dir, source: await saveCopies(dir, keys) }));
}

/** generateModels into `dir`; returns what the copies are copies of. */
async function saveCopies(dir: string, keys: readonly string[]): Promise<string> {
  const store = new ModelStore({ modelsDir: dir, scalersDir: path.join(dir, 'scalers'), keepVersions: 1 });
  await selectBackend('auto');
  let source: string;
  let artifacts;
  if (await hasShippedModels()) {
    const shipped = new ModelStore({ modelsDir: SHIPPED_DIR, scalersDir: path.join(SHIPPED_DIR, 'scalers') });
    const loaded = await shipped.loadModel('nvda');
    artifacts = { model: loaded.model, scalerJson: loaded.scalerJson, metadata: loaded.metadata, volatilityHead: loaded.volatilityHead };
    source = `copies of the shipped NVDA model ${loaded.metadata.version}`;
  } else {
    const bars = await new CsvMarketData({ directory: SAMPLE_DIR }).getBars('NVDA');
    const config = { ...DEFAULT_TRAINING_CONFIG, epochs: 2, maxBars: 1500 };
    const trained = await trainModel({ key: 'nvda', series: [{ symbol: 'NVDA', bars: bars.slice(-config.maxBars) }], config, backend: 'wasm', dataSource: 'csv' });
    artifacts = { model: trained.model, scalerJson: serializeScaler(trained.scaler), metadata: trained.metadata, volatilityHead: trained.volatilityHead?.saved };
    source = 'copies of one NVDA model trained here (default network, 2 epochs; no shipped models yet)';
  }
  const metadata = withoutVersion(artifacts.metadata);
  for (const key of keys) {
    await store.saveModel({ model: artifacts.model, scalerJson: artifacts.scalerJson, metadata: { ...metadata, key, name: `${key}_lstm_model` }, volatilityHead: artifacts.volatilityHead });
  }
  artifacts.model.dispose();
  return source;
}

/** A started service's model count, resident memory and start time: the reference of the many-models rows. */
interface StartReference {
  readonly models: number;
  readonly rssBytes: number;
  readonly readySeconds: number;
}

async function startReferenceOf(service: Server & { readySeconds: number }): Promise<StartReference> {
  const models = ((await (await fetch(`${service.url}/api/v1/models`)).json()) as { count: number }).count;
  const rssBytes = ((await (await fetch(`${service.url}/api/v1/stats`)).json()) as { system: { memory_rss_bytes: number } }).system.memory_rss_bytes;
  return { models, rssBytes, readySeconds: service.readySeconds };
}

/**
 * Start-up with `count` models (copies of one real model, generateModels): time to /health/ready and the memory per
 * loaded model, beside a service started with the shipped models. `--only startup` runs just these rows; the test suite
 * runs it with a few models, so what the benchmark loads cannot stop loading unnoticed.
 */
export async function runManyModelsRows(count: number, reference: StartReference, options: Pick<HttpBenchOptions, 'profileDir' | 'onProfile'> = {}): Promise<Row[]> {
  const many = await generateModels(generatedKeys(count));
  try {
    return await withDataDir(many.dir, async (dir) => {
      const bigProfile = profiling(options.profileDir, 'start-many-models', true);
      const big = await startService(dir, {}, bigProfile);
      type Stats = { models: { ready: number; backend: string; inference: { fused: number; tfjs: number } }; system: { memory_rss_bytes: number } };
      let bigStats: Stats;
      try {
        if (bigProfile) options.onProfile?.(`process start → /health/ready with ${count} models`, topFrames(await stopProfile(big.process, bigProfile.file(1))));
        bigStats = (await (await fetch(`${big.url}/api/v1/stats`)).json()) as Stats;
      } finally {
        await big.stop();
      }
      const loaded = bigStats.models.ready;
      return [
        {
          measure: `start → /health/ready with ${count} models (${loaded} ready), target ≤ 5 s`,
          value: `${fmt(big.readySeconds, 2)} s`,
          reference: `${many.source}; models fused/tfjs: ${bigStats.models.inference.fused}/${bigStats.models.inference.tfjs}, tfjs backend: ${bigStats.models.backend} ('none': tfjs not imported); shipped models (${reference.models}): ${fmt(reference.readySeconds, 2)} s`,
        },
        {
          measure: 'memory per loaded model (process RSS difference / model difference)',
          value: `${fmt((bigStats.system.memory_rss_bytes - reference.rssBytes) / Math.max(1, loaded - reference.models) / 1024, 0)} KiB`,
          reference: `RSS ${fmt(bigStats.system.memory_rss_bytes / 2 ** 20, 0)} MiB with ${loaded} models vs ${fmt(reference.rssBytes / 2 ** 20, 0)} MiB with ${reference.models}`,
        },
      ];
    });
  } finally {
    await rm(many.dir, { recursive: true, force: true });
  }
}

export interface HttpBenchOptions {
  readonly duration: number;
  readonly connections: number;
  readonly models: number;
  /** With a folder: CPU profiles of the measured phases (bench/profile.ts), each summary handed to `onProfile`. */
  readonly profileDir?: string;
  readonly onProfile?: (title: string, summary: string[]) => void;
}

/** Untimed load before the timed rounds: JIT warm-up and the service's post-start work (first storage walk) are not measured. */
const WARM_UP_SECONDS = 2;
/** The uncached single-prediction rows: requests before the timed ones, and timed requests. */
const UNCACHED_WARM_UP = 20;
const UNCACHED_REQUESTS = 200;

/**
 * The 500-symbol row's untimed first pass: symbols per request, one request at a time. A symbol's first request
 * reads its CSV and computes its bands' start from its own history (~0.2 s a symbol: 109 s for the 500 on an idle
 * machine). Sent as the 10 timed batches of 50 at once, every request took about that long, and on a loaded machine
 * one outlasted the service's CONNECTION_TIMEOUT (120 s of silence on the socket), which closed it mid-request;
 * 10 symbols a request take seconds, far from it. The timed passes then start from the same state.
 */
const FIRST_PASS_BATCH = 10;

/**
 * Runs the measurement of one row (or of rows measured together); a failure names it, so a bench that dies
 * part-way, minutes in, says which measurement broke and not only the error underneath (kept as the cause).
 */
async function inRow<T>(row: string, measure: () => Promise<T>): Promise<T> {
  try {
    return await measure();
  } catch (error) {
    throw new Error(`HTTP bench row "${row}" failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export async function runHttpBench(options: HttpBenchOptions): Promise<Row[]> {
  // Before the shipped models exist, a small real set stands in (said in the table), removed however the bench ends.
  const fixture = (await hasShippedModels()) ? undefined : (await generateModels(['nvda', 'global'])).dir;
  try {
    return await httpRows(options, fixture);
  } finally {
    if (fixture) await rm(fixture, { recursive: true, force: true });
  }
}

/** The rows of runHttpBench, served from the shipped models or, when given, from `fixture`. */
async function httpRows(options: HttpBenchOptions, fixture: string | undefined): Promise<Row[]> {
  const rows: Row[] = [];
  // 1. Start-up with the shipped models (seeded from models/ into an empty persistent_data, as a first start does).
  // Rows 1–5 and the LOG_LEVEL=info row share this persistent_data.
  const reference = await withDataDir(fixture, async (dataDir) => {
    const serviceProfile = profiling(options.profileDir, 'cached-warn');
    const { service, reference } = await inRow('start → /health/ready', async () => {
      const started = await startService(dataDir, {}, serviceProfile);
      try {
        return { service: started, reference: await startReferenceOf(started) };
      } catch (error) {
        await started.stop();
        throw error;
      }
    });
    rows.push({
      measure: `start → /health/ready, ${fixture ? 'stand-in' : 'shipped'} models (${reference.models})`,
      value: `${fmt(service.readySeconds, 2)} s`,
      reference: 'includes seeding persistent_data, loading and warming every model',
    });

    let singleMs = Number.NaN;
    try {
      // 2. Cached throughput vs the bare route, same JSON body. The two alternate over three rounds (the
      // machine is shared, so load drifts); the ratio is the median of the per-round ratios.
      await inRow('cached GET /api/v1/predict/NVDA at LOG_LEVEL=warn vs bare route', async () => {
        const cachedUrl = `${service.url}/api/v1/predict/NVDA?days=5`;
        const body = (await (await fetch(cachedUrl)).json()) as { cached: boolean };
        const bare = await startReference('bare', { ...body, cached: true });
        const stack = await startReference('stack', { ...body, cached: true }).catch(async (error: unknown) => {
          await bare.stop();
          throw error;
        });
        type Run = Awaited<ReturnType<typeof autocannon>>;
        const rounds: { service: Run; bare: Run; stack: Run }[] = [];
        const load = (url: string, duration = options.duration) => autocannon({ url, connections: options.connections, duration });
        try {
          for (const url of [cachedUrl, `${bare.url}/api/v1/predict/NVDA?days=5`, `${stack.url}/api/v1/predict/NVDA?days=5`]) await load(url, WARM_UP_SECONDS);
          for (let round = 0; round < 3; round += 1) {
            const serviceRun = await load(cachedUrl);
            const bareRun = await load(`${bare.url}/api/v1/predict/NVDA?days=5`);
            const stackRun = await load(`${stack.url}/api/v1/predict/NVDA?days=5`);
            rounds.push({ service: serviceRun, bare: bareRun, stack: stackRun });
          }
        } finally {
          await bare.stop();
          await stack.stop();
        }
        const ratios = rounds.map((r) => r.service.requests.average / r.bare.requests.average);
        const stackRatios = rounds.map((r) => r.stack.requests.average / r.bare.requests.average);
        const middle = rounds[ratios.indexOf(median(ratios))] ?? rounds[0];
        if (!middle) throw new Error('no throughput rounds ran');
        const failures = rounds.reduce((sum, r) => sum + r.service.non2xx + r.service.errors, 0);
        const perRound = (pick: (r: (typeof rounds)[number]) => Run) => rounds.map((r) => fmt(pick(r).requests.average, 0)).join(' / ');
        rows.push({
          measure: `cached GET /api/v1/predict/NVDA?days=5 at LOG_LEVEL=warn, ${options.connections} connections, 3 × ${options.duration} s (after ${WARM_UP_SECONDS} s untimed each)`,
          value: `${perRound((r) => r.service)} req/s (non-2xx + errors: ${failures})`,
          reference: `bare Fastify route (no logging), same JSON: ${perRound((r) => r.bare)} req/s → ratios ${ratios.map((r) => fmt(r, 2)).join(' / ')}, median ${fmt(median(ratios), 2)} (target at LOG_LEVEL=warn ≥ 0.90)`,
        });
        rows.push({
          measure: 'where the difference goes: same route with only rate limit + zod validation + request-id hook',
          value: `${perRound((r) => r.stack)} req/s`,
          reference: `ratio to bare: median ${fmt(median(stackRatios), 2)}; the rest is the handler (bars, model lease, cache key, tiered cache), metrics and per-request logger`,
        });
        rows.push({
          measure: `cached predictions latency, ${options.connections} connections (median round)`,
          value: `p50 ${middle.service.latency.p50} ms, p99 ${middle.service.latency.p99} ms`,
          reference: `bare route: p50 ${middle.bare.latency.p50} ms, p99 ${middle.bare.latency.p99} ms`,
        });
        if (serviceProfile) {
          // One more run, profiled: the profiler's own cost stays out of the figures above.
          const { file } = await capture(service.process, serviceProfile.file(1), () => load(cachedUrl));
          options.onProfile?.(`cached GET at LOG_LEVEL=warn, ${options.connections} connections, ${options.duration} s`, topFrames(file));
        }
      });

      // 3. Uncached per-prediction cost when N requests for different symbols/horizons arrive together.
      await inRow('uncached, concurrent requests for different symbols/horizons', async () => {
        const symbols = await new CsvMarketData({ directory: path.join(dataDir, 'stock_data', 'historical') }).listSymbols();
        const single: number[] = [];
        for (let i = 0; i < 20; i += 1) {
          await clearCache(service.url);
          single.push(await timed(`${service.url}/api/v1/predict/NVDA?days=1`));
        }
        singleMs = median(single);
        // One untimed pass reads (and memoizes) every symbol's CSV, so the rounds below time predictions, not parsing.
        await Promise.all(symbols.map((symbol) => fetch(`${service.url}/api/v1/historical/${symbol}?days=1`).then((r) => r.arrayBuffer())));
        for (const n of [8, 32]) {
          const perPrediction: number[] = [];
          for (let round = 0; round < 3; round += 1) {
            await clearCache(service.url);
            const t0 = performance.now();
            await Promise.all(
              Array.from({ length: n }, (_, i) => timed(`${service.url}/api/v1/predict/${symbols[i % symbols.length] ?? 'NVDA'}?days=${Math.floor(i / symbols.length) + 1}`)),
            );
            perPrediction.push((performance.now() - t0) / n);
          }
          rows.push({
            measure: `uncached, ${n} concurrent requests for different symbols/horizons`,
            value: `${fmt(median(perPrediction), 2)} ms per prediction (wall time / ${n})`,
            reference: `one uncached request alone: ${fmt(singleMs, 2)} ms`,
          });
        }
      });

      // 4. Uncached predictions while a training job runs in its worker thread (the API's POST .../train).
      await inRow('uncached GET /api/v1/predict/NVDA while a training job runs', async () => {
        const job = (await (
          await fetch(`${service.url}/api/v1/models/AAPL/train`, {
            method: 'POST',
            headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ epochs: 3, max_bars: 1500 }),
          })
        ).json()) as { job_id: string };
        const during: number[] = [];
        for (let i = 0; i < 200; i += 1) {
          const status = ((await (await fetch(`${service.url}/api/v1/jobs/${job.job_id}`)).json()) as { status: string }).status;
          if (status !== 'running' && status !== 'queued') break;
          await clearCache(service.url);
          during.push(await timed(`${service.url}/api/v1/predict/NVDA?days=1`));
        }
        rows.push({
          measure: 'uncached GET /api/v1/predict/NVDA while a training job runs (worker thread)',
          value: during.length > 0 ? `p50 ${fmt(median(during), 2)} ms, max ${fmt(Math.max(...during), 2)} ms (${during.length} requests)` : 'job finished before any request',
          reference: `idle: ${fmt(singleMs, 2)} ms (2 cores: the worker takes one)`,
        });
      });

      // 5. A 60-step forecast for 500 symbols through POST /api/v1/predict (10 batches of 50, uncached): 500 copies
      // of the NVDA prices under new symbols, answered by the global model.
      await inRow('60-step forecast for 500 symbols, POST /api/v1/predict batches', async () => {
        const historical = path.join(dataDir, 'stock_data', 'historical');
        const csv = await readFile(path.join(historical, 'NVDA.csv'), 'utf8');
        const many = Array.from({ length: 500 }, (_, i) => `S${String(i).padStart(3, '0')}`);
        await Promise.all(many.map((symbol) => writeFile(path.join(historical, `${symbol}.csv`), csv)));
        const batches = Array.from({ length: 10 }, (_, b) => many.slice(b * 50, b * 50 + 50));
        const post = async (symbols: string[]): Promise<number> => {
          const t0 = performance.now();
          const res = await fetch(`${service.url}/api/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ symbols, days: 60 }) });
          const text = await res.text();
          const answer = JSON.parse(text) as { predictions?: unknown[] };
          if (res.status !== 200 || answer.predictions?.length !== symbols.length) throw new Error(`batch answered ${res.status}: ${text.slice(0, 300)}`);
          return performance.now() - t0;
        };
        // One untimed pass, FIRST_PASS_BATCH symbols at a time, reads (and memoizes) the 500 CSVs and starts each
        // symbol's bands, so the timed passes time predictions, not parsing or band starts.
        for (let i = 0; i < many.length; i += FIRST_PASS_BATCH) await post(many.slice(i, i + FIRST_PASS_BATCH));
        await clearCache(service.url);
        const t0 = performance.now();
        const perBatch: number[] = [];
        for (const batch of batches) perBatch.push(await post(batch));
        const sequential = performance.now() - t0;
        await clearCache(service.url);
        const t1 = performance.now();
        await Promise.all(batches.map(post));
        const concurrent = performance.now() - t1;
        rows.push({
          measure: '60-step forecast for 500 symbols: 10 × POST /api/v1/predict {50 symbols, days: 60}, uncached',
          value: `sequential ${fmt(sequential, 0)} ms (batch p50 ${fmt(median(perBatch), 1)} ms, ${fmt(sequential / 500, 2)} ms per symbol); 10 batches at once ${fmt(concurrent, 0)} ms`,
          reference: `one uncached single GET: ${fmt(singleMs, 2)} ms`,
        });
      });
    } finally {
      await service.stop();
    }

    // The same cached throughput with the default LOG_LEVEL=info, beside a bare Fastify route that logs each request
    // to a pino file destination (the fair reference for a service that logs), alternating over three rounds.
    await inRow('cached predictions at LOG_LEVEL=info vs bare route logging each request', async () => {
      const verboseProfile = profiling(options.profileDir, 'cached-info');
      const verbose = await startService(dataDir, { LOG_LEVEL: 'info' }, verboseProfile);
      try {
        const url = `${verbose.url}/api/v1/predict/NVDA?days=5`;
        const body = (await (await fetch(url)).json()) as Record<string, unknown>;
        const logging = await startReference('bare-logging', { ...body, cached: true });
        const service: number[] = [];
        const reference: number[] = [];
        let latency = '';
        const loggingUrl = `${logging.url}/api/v1/predict/NVDA?days=5`;
        try {
          for (const warm of [url, loggingUrl]) await autocannon({ url: warm, connections: options.connections, duration: WARM_UP_SECONDS });
          for (let round = 0; round < 3; round += 1) {
            const run = await autocannon({ url, connections: options.connections, duration: options.duration });
            service.push(run.requests.average);
            latency = `p50 ${run.latency.p50} ms, p99 ${run.latency.p99} ms`;
            reference.push((await autocannon({ url: loggingUrl, connections: options.connections, duration: options.duration })).requests.average);
          }
          if (verboseProfile) {
            const { file } = await capture(verbose.process, verboseProfile.file(1), () => autocannon({ url, connections: options.connections, duration: options.duration }));
            options.onProfile?.(`cached GET at LOG_LEVEL=info, ${options.connections} connections, ${options.duration} s`, topFrames(file));
          }
        } finally {
          await logging.stop();
        }
        const ratios = service.map((v, i) => v / (reference[i] as number));
        rows.push({
          measure: `cached predictions with LOG_LEVEL=info, ${options.connections} connections, 3 × ${options.duration} s (after ${WARM_UP_SECONDS} s untimed each)`,
          value: `${service.map((v) => fmt(v, 0)).join(' / ')} req/s (${latency}, last round)`,
          reference: `bare Fastify route logging each request to a pino file destination: ${reference.map((v) => fmt(v, 0)).join(' / ')} req/s → ratios ${ratios.map((r) => fmt(r, 2)).join(' / ')}, median ${fmt(median(ratios), 2)} (target ≥ 0.90)`,
        });
      } finally {
        await verbose.stop();
      }
    });
    return reference;
  });

  // 4. Uncached single prediction latency over HTTP: the fused pass (default), and tfjs per backend as its
  // reference (tensorflow only when @tensorflow/tfjs-node is installed).
  const variants: { label: string; env: Record<string, string> }[] = [
    { label: 'INFERENCE=auto (fused pass), target p50 ≤ 2 ms', env: {} },
    ...(['wasm', 'cpu', 'tensorflow'] as const).map((backend) => ({ label: `INFERENCE=tfjs TFJS_BACKEND=${backend}`, env: { INFERENCE: 'tfjs', TFJS_BACKEND: backend } })),
  ];
  for (const variant of variants) {
    const backend = variant.env['TFJS_BACKEND'] ?? 'auto';
    await inRow(`uncached GET /api/v1/predict/NVDA over HTTP, ${variant.label}`, () =>
      withDataDir(fixture, async (dir) => {
        const profile = backend === 'auto' ? profiling(options.profileDir, 'uncached-fused') : undefined;
        const server = await startService(dir, variant.env, profile);
        try {
          const info = (await (await fetch(`${server.url}/api/v1/stats`)).json()) as { models: { backend: string; inference: { fused: number; tfjs: number } } };
          // Untimed first requests (JIT warm-up, the file tier's first folder scan), then enough timed ones that the
          // median holds still on a shared machine.
          const times: number[] = [];
          for (let i = 0; i < UNCACHED_WARM_UP + UNCACHED_REQUESTS; i += 1) {
            await clearCache(server.url);
            const ms = await timed(`${server.url}/api/v1/predict/NVDA?days=1`);
            if (i >= UNCACHED_WARM_UP) times.push(ms);
          }
          if (profile) {
            const { file } = await capture(server.process, profile.file(1), async () => {
              for (let i = 0; i < 200; i += 1) {
                await clearCache(server.url);
                await timed(`${server.url}/api/v1/predict/NVDA?days=1`);
              }
            });
            options.onProfile?.('200 × (POST /api/v1/cache/clear, uncached GET /api/v1/predict/NVDA), fused pass', topFrames(file));
          }
          const ran = info.models.backend;
          const paths = `models fused/tfjs: ${info.models.inference.fused}/${info.models.inference.tfjs}`;
          rows.push({
            measure: `uncached GET /api/v1/predict/NVDA over HTTP, ${variant.label}`,
            value: `p50 ${fmt(median(times), 2)} ms, min ${fmt(Math.min(...times), 2)} ms (${UNCACHED_REQUESTS} requests after ${UNCACHED_WARM_UP} untimed)`,
            reference: backend === 'auto' || ran === backend ? `backend: ${ran}, ${paths}` : `${backend} unavailable here; fell back to ${ran}, ${paths}`,
          });
        } finally {
          await server.stop();
        }
      }),
    );
  }

  rows.push(...(await inRow('overload: load shedding at its defaults, admission control alone, off', () => runOverloadRows(fixture, options.duration))));

  // 5. Start-up with many models.
  rows.push(...(await inRow(`start → /health/ready with ${options.models} models`, () => runManyModelsRows(options.models, reference, options))));
  return rows;
}

/** Nearest-rank percentile of latencies in ms (NaN when there are none). */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

interface OverloadRun {
  readonly seconds: number;
  /** Latency (ms) of every answer, by status. */
  readonly latencies: ReadonlyMap<number, readonly number[]>;
  readonly errors: number;
  readonly live: readonly { readonly ms: number; readonly status: number }[];
  /** `services.load.status` of each /health sample taken during the load. */
  readonly health: readonly string[];
  /** requests_shed_total by reason at the end. */
  readonly shedBy: string;
}

/** One overload: 100 connections of uncached 50-symbol batches, with /health/live and /health probed beside them. */
async function overload(models: string | undefined, env: Record<string, string>, seconds: number): Promise<OverloadRun> {
  return withDataDir(models, (dir) => overloadIn(dir, env, seconds));
}

async function overloadIn(dir: string, env: Record<string, string>, seconds: number): Promise<OverloadRun> {
  const server = await startService(dir, { ML_PREDICTION_TTL: '1', ...env });
  try {
    const symbols = await new CsvMarketData({ directory: path.join(dir, 'stock_data', 'historical') }).listSymbols();
    const batch = Array.from({ length: 50 }, (_, i) => symbols[i % symbols.length]);
    let sent = 0;
    const live: { ms: number; status: number }[] = [];
    const health: string[] = [];
    let loading = true;
    // Two loops, so a slow /health (it reads storage and the cache tiers) never delays the liveness probes.
    const every100ms = () => new Promise((resolve) => setTimeout(resolve, 100));
    const probing = Promise.all([
      (async () => {
        while (loading) {
          const t0 = performance.now();
          const status = await fetch(`${server.url}/health/live`).then(async (r) => (await r.arrayBuffer(), r.status)).catch(() => 0);
          live.push({ ms: performance.now() - t0, status });
          await every100ms();
        }
      })(),
      (async () => {
        while (loading) {
          const report = (await fetch(`${server.url}/health`).then((r) => r.json()).catch(() => undefined)) as { services?: { load?: { status: string } } } | undefined;
          health.push(report?.services?.load?.status ?? 'no answer');
          await every100ms();
        }
      })(),
    ]);
    const latencies = new Map<number, number[]>();
    const result = await new Promise<Awaited<ReturnType<typeof autocannon>>>((resolve, reject) => {
      const instance = autocannon(
        {
          url: `${server.url}/api/v1/predict`,
          requests: [
            {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              setupRequest: (request) => ({ ...request, body: JSON.stringify({ symbols: batch, days: (sent++ % 60) + 1 }) }),
            },
          ],
          connections: 100,
          duration: seconds,
          timeout: 30,
        },
        (error, run) => (error ? reject(error) : resolve(run)),
      );
      instance.on('response', (_client, status, _bytes, ms) => {
        const list = latencies.get(status) ?? [];
        list.push(ms);
        latencies.set(status, list);
      });
    });
    loading = false;
    await probing;
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const shedBy = [...metrics.matchAll(/^requests_shed_total\{reason="(\w+)"\} (\d+)$/gm)].map(([, reason, count]) => `${reason} ${count}`).join(', ');
    return { seconds, latencies, errors: result.errors, live, health, shedBy };
  } finally {
    await server.stop();
  }
}

function describeOverload(run: OverloadRun): { served: string; probes: string } {
  const ok = run.latencies.get(200) ?? [];
  const shed = run.latencies.get(503) ?? [];
  const other = [...run.latencies].filter(([status]) => status !== 200 && status !== 503).reduce((sum, [, list]) => sum + list.length, 0);
  const liveMs = run.live.map((p) => p.ms);
  const liveFailed = run.live.filter((p) => p.status !== 200).length;
  const degraded = run.health.filter((s) => s === 'degraded').length;
  return {
    served:
      `${ok.length} served (${fmt(ok.length / run.seconds, 0)}/s), latency p50 ${fmt(percentile(ok, 0.5), 0)} ms, p99 ${fmt(percentile(ok, 0.99), 0)} ms; ` +
      `${shed.length} shed (503 + Retry-After${shed.length > 0 ? `, answered in p50 ${fmt(percentile(shed, 0.5), 0)} ms; by reason: ${run.shedBy}` : ''}); ${other} other statuses, ${run.errors} errors/timeouts`,
    probes: `GET /health/live p50 ${fmt(percentile(liveMs, 0.5), 1)} ms, max ${fmt(Math.max(...liveMs), 0)} ms, ${liveFailed} of ${run.live.length} not 200; /health load degraded in ${degraded} of ${run.health.length} samples`,
  };
}

/**
 * 6. Overload: 100 connections sending batches of 50 symbols whose horizon cycles through 1..60 with ML_PREDICTION_TTL=1
 * (a horizon comes back after its 1 s entry expired, so predictions are computed), with load shedding at its
 * defaults and, as the reference, with every check off, one after the other in the same run: how many requests were
 * served and how fast, how many were shed, and what the probes saw.
 */
export async function runOverloadRows(models: string | undefined, duration: number): Promise<Row[]> {
  const limits = loadConfig({}).loadShedding;
  const on = {
    LOAD_MAX_QUEUE_WAIT: String(limits.maxQueueWaitMs),
    LOAD_COMPUTE_SLOTS: String(limits.computeSlots),
    LOAD_MAX_EVENT_LOOP_DELAY: String(limits.maxEventLoopDelayMs),
  };
  const seconds = Math.max(10, duration * 2);
  const shedding = describeOverload(await overload(models, on, seconds));
  // Admission control alone: on a loaded machine the event loop lags from CPU starvation too, and the delay check
  // then sheds most requests first; this shows what the queue-wait budget catches by itself.
  const admissionOnly = describeOverload(await overload(models, { ...on, LOAD_MAX_EVENT_LOOP_DELAY: '0' }, seconds));
  const reference = describeOverload(await overload(models, { LOAD_MAX_QUEUE_WAIT: '0', LOAD_MAX_EVENT_LOOP_DELAY: '0' }, seconds));
  const defaults = Object.entries(on).map(([name, value]) => `${name}=${value}`).join(', ');
  const off = `load shedding off (LOAD_MAX_QUEUE_WAIT=0, LOAD_MAX_EVENT_LOOP_DELAY=0): ${reference.served}`;
  return [
    {
      measure: `overload, ${seconds} s of 100 connections of uncached POST /api/v1/predict {50 symbols, days: 1..60}: load shedding at its defaults (${defaults})`,
      value: shedding.served,
      reference: off,
    },
    { measure: 'the same overload, admission control alone (LOAD_MAX_EVENT_LOOP_DELAY=0)', value: admissionOnly.served, reference: off },
    { measure: 'probes during the overload, load shedding at its defaults', value: shedding.probes, reference: `load shedding off: ${reference.probes}` },
  ];
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === SELF;
if (isMain) {
  const mode = process.argv[2];
  if (mode === 'bare' || mode === 'stack' || mode === 'bare-logging') {
    await runReference(mode, Number(process.argv[3]), process.argv[4] ?? '');
  } else {
    const { values } = parseArgs({
      options: {
        duration: { type: 'string', default: '5' },
        connections: { type: 'string', default: '50' },
        models: { type: 'string', default: '200' },
        profile: { type: 'string' },
        /** `--only overload`: just the overload rows (load shedding on and off), on the shipped models; `--only startup`: just the start with --models models. */
        only: { type: 'string' },
      },
    });
    if (values.only === 'overload') {
      printTable('HTTP overload (load shedding)', await runOverloadRows(undefined, Number(values.duration)));
      process.exit(0);
    }
    if (values.only === 'startup') {
      const models = Number(values.models);
      if (!Number.isInteger(models) || models < 1) throw new Error(`--models must be a positive integer, got ${values.models}`);
      const reference = await withDataDir(undefined, async (shippedDir) => {
        const shipped = await startService(shippedDir);
        try {
          return await startReferenceOf(shipped);
        } finally {
          await shipped.stop();
        }
      });
      printTable('HTTP start-up with many models', await runManyModelsRows(models, reference));
      process.exit(0);
    }
    const profiles: [string, string[]][] = [];
    const rows = await runHttpBench({
      duration: Number(values.duration),
      connections: Number(values.connections),
      models: Number(values.models),
      profileDir: values.profile,
      onProfile: (title, summary) => profiles.push([title, summary]),
    });
    printTable('HTTP service benchmark', rows);
    printProfiles(profiles);
  }
}
