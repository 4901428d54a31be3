/**
 * Throughput through nginx (the shipped config) with one and with two API replicas, side by side in one run:
 *
 *   npm run -s build && node dist/bench/cluster.js [--duration 5] [--connections 50] [--rounds 2]
 *
 * Real processes (test/helpers/cluster.ts): Redis, PostgreSQL, two `node dist/src/main.js` replicas on the
 * shipped models, and two nginx instances on the same replicas — one whose upstream lists replica 1 only, one that
 * lists both. autocannon (in this process) asks for predictions with a cache-busting parameter, so nginx's own
 * cache never answers and every request reaches a replica (which serves it from its prediction cache).
 * The one-replica and two-replica runs alternate, `rounds` times each. The shipped per-client limit_req is left
 * out: one load generator would otherwise measure it (20 r/s). Each row says where the CPU went.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { packageRoot } from '../src/config/package-root.js';
import { startCluster, type Cluster } from '../test/helpers/cluster.js';
import { startNginx, type NginxHandle } from '../test/helpers/nginx-server.js';
import { printTable, type Row } from './table.js';

export interface ClusterBenchOptions {
  readonly duration: number;
  readonly connections: number;
  readonly rounds: number;
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** user + system CPU seconds of `pid` (its threads included), 0 once it is gone. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after "(comm)": state ppid ... utime (14th field) stime (15th).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS_PER_SECOND;
}

/** `pid` and its direct children (nginx's master and its workers). */
async function withChildren(pid: number | undefined): Promise<number[]> {
  if (pid === undefined) return [];
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(pid)) children.push(Number(entry));
  }
  return [pid, ...children];
}

interface CpuGroups {
  readonly replicas: readonly (number | undefined)[];
  readonly nginx: readonly number[];
}

/** CPU seconds the whole machine spent busy (every core, every process: /proc/stat less idle and iowait). */
async function machineBusySeconds(): Promise<number> {
  const [, ...ticks] = ((await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '').trim().split(/\s+/).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) / TICKS_PER_SECOND;
}

type Cpu = { replicas: number; nginx: number; generator: number; others: number };

async function cpuOf(groups: CpuGroups): Promise<Cpu> {
  const sum = async (pids: readonly (number | undefined)[]) => (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);
  const self = process.cpuUsage();
  const ours = { replicas: await sum(groups.replicas), nginx: await sum(groups.nginx), generator: (self.user + self.system) / 1e6 };
  return { ...ours, others: (await machineBusySeconds()) - ours.replicas - ours.nginx - ours.generator };
}

interface Run {
  readonly rps: number;
  readonly p99: number;
  readonly failed: number;
  /** Share of the machine's CPU (all cores = 100 %) per group during the run; others = every other process. */
  readonly cpu: Cpu;
}

async function measure(url: string, groups: CpuGroups, options: ClusterBenchOptions): Promise<Run> {
  let n = 0;
  const before = await cpuOf(groups);
  const t0 = performance.now();
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.duration,
    requests: [{ setupRequest: (request) => ({ ...request, path: `/api/v1/predict/NVDA?days=5&n=${(n += 1)}` }) }],
  });
  const wall = (performance.now() - t0) / 1000;
  const after = await cpuOf(groups);
  const capacity = wall * os.availableParallelism();
  const share = (key: keyof Run['cpu']) => (100 * (after[key] - before[key])) / capacity;
  return {
    // answered predictions only: a failed request is not throughput
    rps: result['2xx'] / wall,
    p99: result.latency.p99,
    failed: result.errors + result.timeouts + result.non2xx,
    cpu: { replicas: share('replicas'), nginx: share('nginx'), generator: share('generator'), others: share('others') },
  };
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

function average(runs: readonly Run[]): Run {
  return {
    rps: mean(runs.map((r) => r.rps)),
    p99: mean(runs.map((r) => r.p99)),
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
    cpu: {
      replicas: mean(runs.map((r) => r.cpu.replicas)),
      nginx: mean(runs.map((r) => r.cpu.nginx)),
      generator: mean(runs.map((r) => r.cpu.generator)),
      others: mean(runs.map((r) => r.cpu.others)),
    },
  };
}

const cpuText = (run: Run): string =>
  `replicas ${run.cpu.replicas.toFixed(0)} %, nginx ${run.cpu.nginx.toFixed(0)} %, load generator ${run.cpu.generator.toFixed(0)} %, everything else (Redis and PostgreSQL included) ${run.cpu.others.toFixed(0)} %`;

export async function runClusterBench(options: ClusterBenchOptions): Promise<Row[]> {
  let cluster: Cluster | undefined;
  let single: NginxHandle | undefined;
  try {
    // Capacity, not limits: the rounds send several hundred thousand requests from one client, past the shared rate
    // limit of the test cluster, whose 429s used to be counted as throughput; shedding is the HTTP bench's to measure.
    cluster = await startCluster({
      replicas: 2,
      seedModelsFrom: path.join(packageRoot, 'models'),
      nginx: { clientRateLimit: false },
      env: { RATE_LIMIT_MAX: '1000000000', LOAD_MAX_EVENT_LOOP_DELAY: '0', LOAD_MAX_QUEUE_WAIT: '0' },
    });
    single = await startNginx([cluster.apis[0]?.port ?? 0], { clientRateLimit: false });
    const pids = cluster.apis.map((api) => api.process().pid);
    const one: CpuGroups = { replicas: pids.slice(0, 1), nginx: await withChildren(single.pid) };
    const two: CpuGroups = { replicas: pids, nginx: await withChildren(cluster.nginx.pid) };
    // Warm-up: JIT, caches and keep-alive connections of both paths.
    await measure(single.url, one, { ...options, duration: 1 });
    await measure(cluster.url, two, { ...options, duration: 1 });
    const ones: Run[] = [];
    const twos: Run[] = [];
    for (let round = 0; round < options.rounds; round += 1) {
      ones.push(await measure(single.url, one, options));
      twos.push(await measure(cluster.url, two, options));
    }
    const [a, b] = [average(ones), average(twos)];
    const cores = os.availableParallelism();
    const busy = b.cpu.replicas + b.cpu.nginx + b.cpu.generator + b.cpu.others;
    return [
      {
        measure: `predictions answered (2xx) per second through nginx, ${options.connections} connections, rate limit and load shedding off: 2 replicas (value) vs 1 replica (reference)`,
        value: `${b.rps.toFixed(0)} req/s, p99 ${b.p99.toFixed(0)} ms, ${b.failed} failed`,
        reference: `${a.rps.toFixed(0)} req/s, p99 ${a.p99.toFixed(0)} ms, ${a.failed} failed`,
      },
      { measure: 'where the CPU went (share of all cores)', value: cpuText(b), reference: cpuText(a) },
      {
        measure: `2 replicas / 1 replica on ${cores} cores`,
        value: `${(b.rps / a.rps).toFixed(2)}x`,
        reference:
          busy > 85
            ? `limited by the ${cores} shared cores (${busy.toFixed(0)} % busy): the replicas, nginx, the load generator and other processes compete for them, so a second replica adds a process, not CPU; on separate machines each replica brings its own cores`
            : `the cores were not saturated (${busy.toFixed(0)} % busy): the limit is per-request latency, not CPU`,
      },
    ];
  } finally {
    await single?.stop();
    await cluster?.stop();
  }
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '50' }, rounds: { type: 'string', default: '2' } } });
  printTable('Cluster benchmark: throughput through nginx', await runClusterBench({ duration: Number(values.duration), connections: Number(values.connections), rounds: Number(values.rounds) }));
}
