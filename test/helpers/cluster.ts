import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/env.js';
import { ModelStore } from '../../src/model-store/store.js';
import { freePort } from './free-port.js';
import { startNginx, type NginxHandle, type NginxOptions } from './nginx-server.js';
import { startPostgresServer, type PostgresServerHandle } from './postgres-server.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';
import { startServiceProcess, waitFor, waitReady, type ServiceProcess } from './service-process.js';
import { TINY_TRAINING_ENV } from './tiny-training-env.js';

/**
 * A multi-process deployment on loopback, as compose or Kubernetes runs it: Redis, PostgreSQL, N API replicas
 * (`node dist/src/main.js`, real processes) sharing one persistent_data folder, REDIS_URL and DATABASE_URL, the
 * shipped nginx config in front of them, and optionally processes of other roles (a worker). Any process can be
 * killed with SIGKILL and started again on the same port and environment.
 */

/** The environment every process of the cluster gets, before the cluster's and the member's own additions. */
const BASE_ENV: Readonly<Record<string, string>> = {
  HOST: '127.0.0.1',
  // nginx is the trusted proxy, as in the compose stack: limits count the client address it forwards.
  TRUST_PROXY: 'loopback',
  // Drills are about faults: neither the per-client budget nor a loaded CI machine's event-loop lag may answer for them.
  RATE_LIMIT_MAX: '100000',
  LOAD_MAX_EVENT_LOOP_DELAY: '0',
  LOAD_MAX_QUEUE_WAIT: '0',
  // One line per request on N processes costs the 2 test cores more than the requests themselves.
  LOG_LEVEL: 'warn',
  API_KEYS: 'cluster-test-key-123456',
  ...TINY_TRAINING_ENV,
};

/** The API key every process of the cluster accepts. */
export const CLUSTER_API_KEY = 'cluster-test-key-123456';

export interface MemberSpec {
  /** `api` members are behind nginx and ready when /health/ready answers 200; other roles when `ready` says so. */
  readonly role: 'api' | 'worker';
  /** Added to (and overriding) the cluster's environment for this process only, e.g. `{ ROLE: 'worker' }`. */
  readonly env?: Readonly<Record<string, string>>;
  /** When a non-api member counts as started (default: it is still running 1 s after its spawn). */
  readonly ready?: (member: ClusterMember) => Promise<boolean>;
}

export interface ClusterMember {
  /** `api-1`, `api-2`, `worker-1`: also its log file's name under persistent_data/logs/application. */
  readonly name: string;
  readonly role: MemberSpec['role'];
  /** Its own loopback port (PORT), the same across restarts: nginx's upstream lists it. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`, the process itself, bypassing nginx. */
  readonly url: string;
  /** The environment it runs with. */
  readonly env: Readonly<Record<string, string>>;
  /** The running process (a new one after each restart). */
  process(): ServiceProcess;
  running(): boolean;
  /** SIGKILL, as a crash or an OOM kill: no drain, no shutdown hook. Resolves once it has exited. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown, as a rolling restart does); resolves with its exit code once it has exited. */
  terminate(): Promise<number | null>;
  /** Starts it again (after kill or terminate) with the same port and environment; resolves once it is ready. */
  restart(): Promise<void>;
}

export interface ClusterOptions {
  /** API replicas behind nginx (default 2). */
  readonly replicas?: number;
  /** Further members started after the replicas, e.g. `[{ role: 'worker', env: { ROLE: 'worker' } }]`. */
  readonly members?: readonly MemberSpec[];
  /** A folder laid out like the shipped `models/` seeded into the shared store before any process starts. */
  readonly seedModelsFrom?: string;
  /** Added to (and overriding) every process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly nginx?: NginxOptions;
}

export interface Cluster {
  /** nginx: what clients talk to. */
  readonly url: string;
  readonly nginx: NginxHandle;
  readonly redis: RedisServerHandle;
  readonly postgres: PostgresServerHandle;
  /** The shared persistent_data folder. */
  readonly dataDir: string;
  /** The environment shared by every member (PERSISTENT_DATA_PATH, REDIS_URL, DATABASE_URL, ...). */
  readonly env: Readonly<Record<string, string>>;
  readonly apis: readonly ClusterMember[];
  /** Members of other roles, in the order of `options.members`. */
  readonly others: readonly ClusterMember[];
  /** Starts one more member on the shared environment (not added to nginx: the upstream is fixed at start). */
  add(spec: MemberSpec): Promise<ClusterMember>;
  /** SIGTERM to every member (SIGKILL after 10 s), then nginx, PostgreSQL, Redis; removes the data folder. */
  stop(): Promise<void>;
}

async function defaultReady(member: ClusterMember): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return member.running();
}

function startMember(name: string, spec: MemberSpec, port: number, env: Readonly<Record<string, string>>): ClusterMember {
  const url = `http://127.0.0.1:${port}`;
  const fullEnv = { ...env, PORT: String(port), LOG_FILE: `${name}.log`, ...spec.env };
  let current = startServiceProcess(fullEnv);
  const exit = async (signal: NodeJS.Signals): Promise<number | null> => {
    current.kill(signal);
    return (await current.done).code;
  };
  const member: ClusterMember = {
    name,
    role: spec.role,
    port,
    url,
    env: fullEnv,
    process: () => current,
    running: () => current.running(),
    kill: async () => {
      await exit('SIGKILL');
    },
    terminate: () => exit('SIGTERM'),
    restart: async () => {
      if (current.running()) throw new Error(`${name} is still running: kill or terminate it first`);
      current = startServiceProcess(fullEnv);
      await whenReady(member, spec);
    },
  };
  return member;
}

async function whenReady(member: ClusterMember, spec: MemberSpec): Promise<void> {
  if (spec.role === 'api') {
    await waitReady(member.url, member.process());
    return;
  }
  const ready = spec.ready ?? defaultReady;
  await waitFor(`${member.name} to start`, async () => {
    if (!member.running()) throw new Error(`${member.name} exited during start-up:\n${member.process().stderr()}`);
    return (await ready(member)) ? true : undefined;
  });
  if (!member.running()) throw new Error(`${member.name} exited during start-up:\n${member.process().stderr()}`);
}

async function stopMember(member: ClusterMember): Promise<void> {
  if (!member.running()) return;
  const done = member.process().done;
  member.process().kill('SIGTERM');
  const timer = setTimeout(() => member.process().kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
}

/** Starts the cluster and resolves once every API replica is ready and nginx accepts connections. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const replicas = options.replicas ?? 2;
  const [redis, postgres, dataDir] = await Promise.all([startRedisServer(), startPostgresServer(), mkdtemp(path.join(tmpdir(), 'cluster-data-'))]);
  const members: ClusterMember[] = [];
  let nginx: NginxHandle | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all(members.map(stopMember));
    await nginx?.stop();
    await Promise.all([postgres.stop(), redis.stop()]);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    if (options.seedModelsFrom !== undefined) {
      // Seeded once, before any process starts: replicas starting together on an empty store would each seed it.
      const { layout } = loadConfig({ PERSISTENT_DATA_PATH: dataDir });
      await new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers }).seedFrom(options.seedModelsFrom);
    }
    const env = {
      ...BASE_ENV,
      PERSISTENT_DATA_PATH: dataDir,
      REDIS_URL: redis.url,
      DATABASE_URL: await postgres.createDatabase('cluster'),
      ...options.env,
    };
    const started = new Map<string, number>();
    const add = async (spec: MemberSpec): Promise<ClusterMember> => {
      // Numbered before the first await: replicas are added in parallel.
      const number = (started.get(spec.role) ?? 0) + 1;
      started.set(spec.role, number);
      const member = startMember(`${spec.role}-${number}`, spec, await freePort(), env);
      members.push(member);
      await whenReady(member, spec);
      return member;
    };
    const apiSpec: MemberSpec = { role: 'api' };
    const apis = await Promise.all(Array.from({ length: replicas }, () => add(apiSpec)));
    nginx = await startNginx(apis.map((api) => api.port), options.nginx);
    const others: ClusterMember[] = [];
    for (const spec of options.members ?? []) others.push(await add(spec));
    return { url: nginx.url, nginx, redis, postgres, dataDir, env, apis, others, add, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
