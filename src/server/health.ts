import fs from 'node:fs/promises';
import type { z } from 'zod';
import { errorMessage } from '../errors.js';
import type { HealthBody, ServiceHealth } from './schemas.js';
import type { Services } from './services.js';

type Service = z.output<typeof ServiceHealth>;
export type Health = z.output<typeof HealthBody>;

const MIB = 1024 * 1024;
/** Free space below which the disk is reported degraded / unhealthy (logs, cache and models stop being written). */
const DISK_DEGRADED_BYTES = 500 * MIB;
const DISK_UNHEALTHY_BYTES = 50 * MIB;
/** Client-side failures of a fetch (unknown symbol, bad input) say nothing about the source's health. */
const CLIENT_ERRORS = new Set(['NotFoundError', 'ValidationError']);

/** How long /health waits for Redis to answer PING before calling it degraded. */
const REDIS_PING_TIMEOUT_MS = 500;

async function redisHealth(services: Services): Promise<Service> {
  if (!services.config.redisUrl || !services.pingRedis) return { status: 'disabled', message: 'REDIS_URL is not set; memory and file tiers only' };
  const tier = services.cache.status().tiers['redis'];
  if (!tier?.up) return { status: 'degraded', message: `unavailable (${tier?.detail ?? 'unknown'}); serving from the memory and file tiers` };
  // Connected is not enough: a frozen server keeps its connection open and answers nothing.
  try {
    const ms = await services.pingRedis(REDIS_PING_TIMEOUT_MS);
    return { status: 'healthy', message: `connected, PING ${ms.toFixed(1)} ms` };
  } catch (error) {
    return { status: 'degraded', message: `connected but not answering PING within ${REDIS_PING_TIMEOUT_MS} ms (${errorMessage(error)}); serving from the memory and file tiers` };
  }
}

async function dataSourceHealth(services: Services): Promise<Service> {
  const last = services.lastFetch();
  const failed = last !== undefined && (!last.ok || last.stale === true) && !CLIENT_ERRORS.has(last.error ?? '');
  if (last && failed) {
    const served = last.stale === true ? '; served from its expired cache' : '';
    return { status: 'degraded', message: `last ${last.source} fetch (${last.symbol}) failed: ${last.error ?? 'error'}${served}` };
  }
  if (services.config.dataSource === 'csv') {
    const symbols = await services.market.listSymbols().catch(() => []);
    if (symbols.length === 0) return { status: 'unhealthy', message: `no CSV files in ${services.config.layout.historical}` };
    return { status: 'healthy', message: `csv: ${symbols.length} symbols` };
  }
  return { status: 'healthy', message: last ? `yahoo: last fetch ok (${last.symbol})` : 'yahoo: no fetch yet' };
}

function modelsHealth(services: Services): Service {
  const { registry } = services;
  if (!registry.initialLoadDone) return { status: 'unhealthy', message: 'models are loading' };
  const entries = registry.entries();
  const ready = entries.filter((e) => e.status === 'ready').length;
  const failed = entries.filter((e) => e.status === 'failed');
  // Ready, but on an older version: the one CURRENT names was refused (after a restart it would be "failed").
  const refused = entries.filter((e) => e.status === 'ready' && e.error !== undefined);
  if (ready === 0) return { status: 'unhealthy', message: entries.length === 0 ? 'no models installed' : 'no model could be loaded' };
  const problems = [
    ...(failed.length > 0 ? [`${failed.length} failed: ${failed.map((e) => e.key).join(', ')} (answered by the global model)`] : []),
    ...refused.map((e) => `${e.key} serves ${e.metadata?.version ?? 'an older version'}: its current ${e.error ?? 'version was refused'}`),
  ];
  if (problems.length > 0) return { status: 'degraded', message: `${ready} ready; ${problems.join('; ')}` };
  return { status: 'healthy', message: `${ready} ready` };
}

async function dataDiskHealth(services: Services): Promise<Service> {
  const root = services.config.layout.root;
  try {
    await fs.access(root, fs.constants.W_OK);
    const stats = await fs.statfs(root);
    const free = stats.bavail * stats.bsize;
    const message = `${Math.round(free / MIB)} MiB free under ${root}`;
    if (free < DISK_UNHEALTHY_BYTES) return { status: 'unhealthy', message };
    if (free < DISK_DEGRADED_BYTES) return { status: 'degraded', message };
    return { status: 'healthy', message };
  } catch (error) {
    return { status: 'unhealthy', message: `${root} is not writable: ${(error as Error).message}` };
  }
}

/** Free space under persistent_data, and the log file: a log disk that refuses writes degrades (lines are dropped), never kills. */
async function diskHealth(services: Services): Promise<Service> {
  const data = await dataDiskHealth(services);
  const log = services.logFile();
  if (log === undefined || (!log.failing && log.dropped === 0)) return data;
  if (log.failing) {
    return { status: data.status === 'unhealthy' ? 'unhealthy' : 'degraded', message: `log file not writable (${log.lastError ?? 'error'}): ${log.dropped} lines dropped so far; ${data.message}` };
  }
  return { status: data.status, message: `${data.message}; ${log.dropped} log lines were dropped earlier (${log.lastError ?? 'write error'}), logging resumed` };
}

/** The detailed health report: local checks only (probes never call external APIs). */
export async function healthReport(services: Services, load: Service): Promise<Health> {
  const [redis, data_source, disk] = await Promise.all([redisHealth(services), dataSourceHealth(services), diskHealth(services)]);
  const service = { redis, data_source, models: modelsHealth(services), disk, load };
  const states = Object.values(service).map((s) => s.status);
  const status = states.includes('unhealthy') ? 'unhealthy' : states.includes('degraded') ? 'degraded' : 'healthy';
  return {
    status,
    timestamp: new Date().toISOString(),
    version: services.version,
    uptime_seconds: Math.round((Date.now() - services.startedAt.getTime()) / 10) / 100,
    services: service,
  };
}

/** Ready = the first load and warm-up finished and at least one model serves. */
export function isReady(services: Services): boolean {
  return services.registry.initialLoadDone && services.registry.entries().some((e) => e.status === 'ready');
}
