import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { InferencePreference } from '../ml/inference/engine.js';
import { trainingConfigFromEnv } from '../ml/training/config.js';
import type { TrainingConfig } from '../ml/types.js';
import { dataLayout, type DataLayout } from './layout.js';

/**
 * The service's configuration, read once from the environment at start-up and validated with zod.
 * Every variable has a working default (offline CSV data, no Redis, everything under PERSISTENT_DATA_PATH);
 * a value that is present but wrong stops start-up with one line naming the variable — never a silent fallback.
 */

/** Durations accept plain seconds ("300") or Go-style units as the original .env used ("300s", "5m", "30m", "1h"). */
const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

function durationSeconds(what: string) {
  return z.string().trim().transform((raw, ctx) => {
    const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw);
    const unit = DURATION_UNITS[match?.[2] ?? 's'];
    if (!match || unit === undefined) {
      ctx.addIssue({ code: 'custom', message: `${what} must be a duration like 300, 300s, 5m or 1h (got "${raw}")` });
      return z.NEVER;
    }
    return Number(match[1]) * unit;
  });
}

function numberIn(min: number, max: number, integer = false) {
  return z.string().trim().transform((raw, ctx) => {
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      ctx.addIssue({ code: 'custom', message: `must be ${integer ? 'an integer' : 'a number'} in ${min}..${max} (got "${raw}")` });
      return z.NEVER;
    }
    return value;
  });
}

const commaList = z.string().transform((raw) => raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0));

const booleanFlag = z.string().trim().toLowerCase().transform((raw, ctx) => {
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  ctx.addIssue({ code: 'custom', message: `must be true or false (got "${raw}")` });
  return z.NEVER;
});

/** A URL whose scheme is one of `schemes` (e.g. redis, rediss). */
function urlWithScheme(...schemes: string[]) {
  return z.string().trim().refine((raw) => {
    try {
      return schemes.includes(new URL(raw).protocol.slice(0, -1));
    } catch {
      return false;
    }
  }, `must be a ${schemes.map((s) => `${s}://`).join(' or ')} URL`);
}

const redisUrl = urlWithScheme('redis', 'rediss');
const databaseUrl = urlWithScheme('postgres', 'postgresql');

/**
 * "HH:MM[:SS]" or "HH:MM[:SS] Area/City": when the daily run starts, in that IANA time zone (default America/New_York).
 * Seconds let a drill schedule a run a few seconds ahead.
 */
const dailyTime = z.string().trim().transform((raw, ctx) => {
  const match = /^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(?:\s+(\S+))?$/.exec(raw);
  const timeZone = match?.[4] ?? 'America/New_York';
  let zoneOk = true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    zoneOk = false;
  }
  if (!match || !zoneOk) {
    ctx.addIssue({ code: 'custom', message: `must be HH:MM with an optional IANA time zone, like "17:30 America/New_York" (got "${raw}")` });
    return z.NEVER;
  }
  return { hour: Number(match[1]), minute: Number(match[2]), second: Number(match[3] ?? 0), timeZone };
});

/** `*` alone (the original compose value: any origin, public read-only routes only) or explicit origins. */
const originList = commaList.refine(
  (origins) => (origins.length === 1 && origins[0] === '*') || origins.every((o) => /^https?:\/\/[^/\s]+$/.test(o)),
  'must be * or a comma-separated list of origins like http://localhost:3000 (scheme and host, no path)',
);

const EnvSchema = z.object({
  PORT: numberIn(0, 65535, true).default(8081),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  PERSISTENT_DATA_PATH: z.string().trim().min(1).default('./persistent_data'),
  ML_MODEL_PATH: z.string().trim().min(1).optional(),
  SCALERS_PATH: z.string().trim().min(1).optional(),
  ML_CACHE_PATH: z.string().trim().min(1).optional(),
  STOCK_DATA_CACHE_PATH: z.string().trim().min(1).optional(),
  LOG_PATH: z.string().trim().min(1).optional(),
  LOG_FILE: z.string().trim().min(1).optional(),
  BACKUP_PATH: z.string().trim().min(1).optional(),
  CONFIG_PATH: z.string().trim().min(1).optional(),
  REDIS_URL: redisUrl.optional(),
  /** api: serve HTTP (and enqueue jobs when REDIS_URL is set); worker: run queued jobs (needs REDIS_URL), no HTTP. */
  ROLE: z.enum(['api', 'worker']).default('api'),
  /** Tries of one queued job (training, daily run) before it is failed; retries wait JOB_BACKOFF, doubled each time. */
  JOB_ATTEMPTS: numberIn(1, 100, true).default(3),
  JOB_BACKOFF: durationSeconds('JOB_BACKOFF').default(10),
  /** A worker holds a job's lock this long and renews it at half; a job whose lock lapsed (worker killed) is retried. */
  JOB_LOCK_DURATION: durationSeconds('JOB_LOCK_DURATION').default(30),
  /** How often workers look for jobs whose lock lapsed (stalled jobs) and put them back in the queue. */
  JOB_STALLED_INTERVAL: durationSeconds('JOB_STALLED_INTERVAL').default(30),
  DATA_SOURCE: z.enum(['csv', 'yahoo']).default('csv'),
  /** Yahoo chart API base URL (the original's API_BASE_URL). */
  API_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  ML_PREDICTION_TTL: durationSeconds('ML_PREDICTION_TTL').default(300),
  STOCK_DATA_TTL: durationSeconds('STOCK_DATA_TTL').default(1800),
  /** Whole budget of one market-data fetch (rate-limit wait, attempts, backoff); past it stored bars or a 503 answer. */
  MARKET_FETCH_BUDGET: durationSeconds('MARKET_FETCH_BUDGET')
    .refine((seconds) => seconds >= 0.1 && seconds <= 120, 'MARKET_FETCH_BUDGET must be between 100ms and 120s')
    .default(5),
  /** How long a symbol the data source does not know is answered 404 without asking the source again. */
  MARKET_UNKNOWN_SYMBOL_TTL: durationSeconds('MARKET_UNKNOWN_SYMBOL_TTL').default(600),
  /** First lookups of new symbols allowed to wait for the source's rate limit at once; more are refused at once (503). */
  MARKET_LOOKUP_QUEUE_MAX: numberIn(0, 10_000, true).default(10),
  TFJS_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /** auto: the fused forward pass for every model it supports (the rest run on tfjs); tfjs: always tfjs. */
  INFERENCE: z.enum(['auto', 'tfjs']).default('auto'),
  API_KEYS: commaList.default([]),
  CORS_ORIGINS: originList.default([]),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Size at which the application log rotates (pino-roll units: 10m, 500k); it also rotates daily. */
  LOG_MAX_SIZE: z.string().trim().regex(/^\d+[kmg]?$/, 'must be a size like 10m or 500k').default('10m'),
  LOG_KEEP_FILES: numberIn(1, 1000, true).default(14),
  STOCK_BUY_THRESHOLD: numberIn(1, 10).default(1.01),
  STOCK_SELL_THRESHOLD: numberIn(0, 1).default(0.99),
  RATE_LIMIT_MAX: numberIn(1, 1_000_000_000, true).default(120),
  /**
   * Whose X-Forwarded-For to believe, so rate limits and logs see the real client behind nginx:
   * false (default), true, or comma-separated proxy addresses/CIDRs (e.g. 172.16.0.0/12, loopback).
   */
  TRUST_PROXY: z
    .string()
    .trim()
    .transform((raw, ctx): boolean | string => {
      if (/^(true|false)$/i.test(raw)) return raw.toLowerCase() === 'true';
      if (/^[0-9a-fA-F.:/,\s]+$/.test(raw) || /^(loopback|linklocal|uniquelocal)(,|$)/.test(raw)) return raw;
      ctx.addIssue({ code: 'custom', message: `must be true, false or proxy addresses (got "${raw}")` });
      return z.NEVER;
    })
    .default(false),
  RATE_LIMIT_WINDOW: durationSeconds('RATE_LIMIT_WINDOW').default(60),
  /** Largest accepted request body in bytes. */
  BODY_LIMIT: numberIn(1024, 10 * 1024 * 1024, true).default(64 * 1024),
  /** Entries kept by the in-process prediction cache (LRU). */
  MEMORY_CACHE_MAX: numberIn(1, 1_000_000, true).default(1000),
  /** Seconds between checks of the models' CURRENT pointers for new versions (0 = only POST /api/v1/models/reload). */
  MODEL_WATCH_INTERVAL: durationSeconds('MODEL_WATCH_INTERVAL').default(30),
  MODEL_KEEP_VERSIONS: numberIn(1, 100, true).default(3),
  /** Seconds between refreshes of the storage gauges (bytes and files per persistent_data directory). */
  STORAGE_METRICS_INTERVAL: durationSeconds('STORAGE_METRICS_INTERVAL').default(60),
  /** Seed persistent_data from the shipped models and sample CSVs when it is empty. */
  SEED_ON_START: booleanFlag.default(true),
  SHUTDOWN_TIMEOUT: durationSeconds('SHUTDOWN_TIMEOUT').default(30),
  /** Load shedding: mean event-loop delay (ms) above which API requests get 503 + Retry-After (0 = off). */
  LOAD_MAX_EVENT_LOOP_DELAY: numberIn(0, 60_000, true).default(200),
  /** Load shedding: V8 heap bytes in use above which API requests get 503 (0 = 90% of the heap limit). */
  LOAD_MAX_HEAP_BYTES: numberIn(0, 2 ** 45, true).default(0),
  LOAD_RETRY_AFTER: numberIn(1, 3600, true).default(5),
  /** Load shedding: a request whose uncached predictions waited longer than this (ms) for a slot gets 503 (0 = off). */
  LOAD_MAX_QUEUE_WAIT: numberIn(0, 60_000, true).default(250),
  /** Load shedding: requests computing uncached predictions at once; the next ones wait up to LOAD_MAX_QUEUE_WAIT. */
  LOAD_COMPUTE_SLOTS: numberIn(1, 1000, true).default(2),
  /** The request line and headers must arrive within this (slow-loris clients are cut off with a 408). */
  HEADERS_TIMEOUT: durationSeconds('HEADERS_TIMEOUT').default(10),
  /** The whole request, headers and body, must arrive within this (a dribbled body is cut off with a 408). */
  REQUEST_TIMEOUT: durationSeconds('REQUEST_TIMEOUT').default(30),
  /** An idle keep-alive connection is closed after this; above nginx's upstream keepalive_timeout (60 s). */
  KEEP_ALIVE_TIMEOUT: durationSeconds('KEEP_ALIVE_TIMEOUT').default(72),
  /** A socket with no traffic in either direction for this long is destroyed (a stalled or half-open client). */
  CONNECTION_TIMEOUT: durationSeconds('CONNECTION_TIMEOUT').default(120),
  /** PostgreSQL for the prediction-tracking store (shared by replicas); unset: SQLite under stock_data/predictions/. */
  DATABASE_URL: databaseUrl.optional(),
  DAILY_PREDICTION_ENABLED: booleanFlag.default(false),
  /** Symbols the daily run forecasts; empty: every symbol with a model of its own. */
  DAILY_PREDICTION_SYMBOLS: commaList.default([]),
  DAILY_PREDICTION_TIME: dailyTime.default({ hour: 17, minute: 30, second: 0, timeZone: 'America/New_York' }),
  /** With REDIS_URL: when the worker applies the retraining policy (ml_config.json) each day; unset: never by itself. */
  RETRAINING_TIME: dailyTime.optional(),
  /** Forecast steps recorded per symbol and day (capped at each model's horizon). */
  DAILY_PREDICTION_HORIZON: numberIn(1, 60, true).default(20),
  /** How often the bars of symbols with waiting forecasts are read, and forecasts whose target day now has a bar scored. */
  ACTUALS_WATCH_INTERVAL: durationSeconds('ACTUALS_WATCH_INTERVAL')
    .refine((seconds) => seconds >= 0.1, 'ACTUALS_WATCH_INTERVAL must be at least 100ms')
    .default(30),
});

type ParsedEnv = z.output<typeof EnvSchema>;

export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly layout: DataLayout;
  readonly redisUrl: string | undefined;
  readonly role: 'api' | 'worker';
  /** BullMQ settings of the job queues (used only with REDIS_URL), in milliseconds. */
  readonly jobs: { readonly attempts: number; readonly backoffMs: number; readonly lockDurationMs: number; readonly stalledIntervalMs: number };
  readonly dataSource: 'csv' | 'yahoo';
  /** Unset: the market data module's default Yahoo host. */
  readonly yahooBaseUrl: string | undefined;
  readonly predictionTtlSeconds: number;
  readonly stockDataTtlSeconds: number;
  /** MARKET_FETCH_BUDGET, MARKET_UNKNOWN_SYMBOL_TTL, MARKET_LOOKUP_QUEUE_MAX (DATA_SOURCE=yahoo). */
  readonly fetchBudgetSeconds: number;
  readonly unknownSymbolTtlSeconds: number;
  readonly lookupQueueMax: number;
  readonly tfjsBackend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  readonly inference: InferencePreference;
  readonly apiKeys: readonly string[];
  readonly corsOrigins: readonly string[];
  readonly logLevel: ParsedEnv['LOG_LEVEL'];
  readonly logMaxSize: string;
  readonly logKeepFiles: number;
  readonly buyThreshold: number;
  readonly sellThreshold: number;
  readonly rateLimitMax: number;
  readonly trustProxy: boolean | string;
  readonly rateLimitWindowSeconds: number;
  readonly bodyLimit: number;
  readonly memoryCacheMax: number;
  readonly modelWatchIntervalSeconds: number;
  readonly modelKeepVersions: number;
  readonly storageMetricsIntervalSeconds: number;
  readonly seedOnStart: boolean;
  readonly shutdownTimeoutSeconds: number;
  /** Load shedding thresholds (0 = that check off), prediction slots and the Retry-After of a shed request. */
  readonly loadShedding: {
    readonly maxEventLoopDelayMs: number;
    readonly maxHeapUsedBytes: number;
    readonly maxQueueWaitMs: number;
    readonly computeSlots: number;
    readonly retryAfterSeconds: number;
  };
  /** HTTP server timeouts in seconds: headers, whole request, idle keep-alive, idle socket. */
  readonly server: { readonly headersTimeoutSeconds: number; readonly requestTimeoutSeconds: number; readonly keepAliveTimeoutSeconds: number; readonly connectionTimeoutSeconds: number };
  readonly databaseUrl: string | undefined;
  readonly dailyPrediction: {
    readonly enabled: boolean;
    /** Upper-case symbols; empty: every symbol with its own model. */
    readonly symbols: readonly string[];
    readonly time: { readonly hour: number; readonly minute: number; readonly second?: number; readonly timeZone: string };
    readonly horizon: number;
  };
  /** Seconds between the passes that score matured forecasts from newly appeared bars (ACTUALS_WATCH_INTERVAL). */
  readonly actualsWatchIntervalSeconds: number;
  /** With REDIS_URL: the daily time the worker applies the retraining policy; undefined: not scheduled. */
  readonly retrainingTime: { readonly hour: number; readonly minute: number; readonly second?: number; readonly timeZone: string } | undefined;
  /** Defaults for training jobs started through the API (TRAIN_EPOCHS, TRAIN_WINDOW, ...). */
  readonly training: TrainingConfig;
}

/** Values that must never appear in a log line: the API keys and the passwords inside REDIS_URL and DATABASE_URL. */
export function configSecrets(config: AppConfig): string[] {
  return [...config.apiKeys, ...[config.redisUrl, config.databaseUrl].flatMap((url) => (url && new URL(url).password ? [new URL(url).password] : []))];
}

/** A configuration problem, phrased as the one line an operator sees before the process exits. */
export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super(`Invalid environment variable ${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // An empty variable means "not set" (a common result of `FOO=` in .env files and compose).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(variable, issue?.message ?? 'invalid value');
  }
  const e = parsed.data;
  for (const [variable, seconds] of [['HEADERS_TIMEOUT', e.HEADERS_TIMEOUT], ['REQUEST_TIMEOUT', e.REQUEST_TIMEOUT], ['KEEP_ALIVE_TIMEOUT', e.KEEP_ALIVE_TIMEOUT], ['CONNECTION_TIMEOUT', e.CONNECTION_TIMEOUT]] as const) {
    // 0 would mean "no limit" to Node: exactly what these bounds exist to prevent.
    if (seconds < 0.1) throw new ConfigError(variable, `must be at least 100ms (got ${seconds}s)`);
  }
  if (e.ROLE === 'worker' && e.REDIS_URL === undefined) {
    throw new ConfigError('ROLE', 'worker needs REDIS_URL: the worker takes its jobs from the Redis queues');
  }
  if (e.JOB_LOCK_DURATION < 0.5) throw new ConfigError('JOB_LOCK_DURATION', `must be at least 500ms (got ${e.JOB_LOCK_DURATION}s)`);
  if (e.HEADERS_TIMEOUT > e.REQUEST_TIMEOUT) {
    throw new ConfigError('HEADERS_TIMEOUT', `must not exceed REQUEST_TIMEOUT (${e.HEADERS_TIMEOUT}s > ${e.REQUEST_TIMEOUT}s)`);
  }
  if (e.STOCK_SELL_THRESHOLD >= e.STOCK_BUY_THRESHOLD) {
    throw new ConfigError('STOCK_SELL_THRESHOLD', `must be below STOCK_BUY_THRESHOLD (${e.STOCK_SELL_THRESHOLD} >= ${e.STOCK_BUY_THRESHOLD})`);
  }
  let training: TrainingConfig;
  try {
    training = trainingConfigFromEnv(env);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const variable = String(error.details?.['variable'] ?? 'TRAIN_*');
    throw new ConfigError(variable, error.message.replace(`${variable}: `, ''));
  }
  const root = path.resolve(e.PERSISTENT_DATA_PATH);
  // Explicit paths are relative to the working directory, as in the original .env files.
  const resolve = (p: string | undefined) => (p === undefined ? undefined : path.resolve(p));
  // The original's ML_MODEL_PATH named one model folder (…/ml_models/nvda_lstm_model): its parent is the models root.
  const modelsPath = e.ML_MODEL_PATH !== undefined && /_lstm_model\/?$/.test(e.ML_MODEL_PATH) ? path.dirname(path.resolve(e.ML_MODEL_PATH)) : resolve(e.ML_MODEL_PATH);
  const logs = resolve(e.LOG_PATH);
  const layout = dataLayout(root, {
    mlModels: modelsPath,
    scalers: resolve(e.SCALERS_PATH),
    mlCache: resolve(e.ML_CACHE_PATH),
    stockDataCache: resolve(e.STOCK_DATA_CACHE_PATH),
    logs,
    // LOG_FILE is a file name inside the application log folder, or a path of its own.
    logFile: e.LOG_FILE === undefined ? undefined : path.resolve(path.join(logs ?? path.join(root, 'logs'), 'application'), e.LOG_FILE),
    backups: resolve(e.BACKUP_PATH),
    config: resolve(e.CONFIG_PATH),
  });
  return {
    port: e.PORT,
    host: e.HOST,
    layout,
    redisUrl: e.REDIS_URL,
    role: e.ROLE,
    jobs: {
      attempts: e.JOB_ATTEMPTS,
      backoffMs: Math.round(e.JOB_BACKOFF * 1000),
      lockDurationMs: Math.round(e.JOB_LOCK_DURATION * 1000),
      stalledIntervalMs: Math.round(e.JOB_STALLED_INTERVAL * 1000),
    },
    dataSource: e.DATA_SOURCE,
    yahooBaseUrl: e.API_BASE_URL,
    predictionTtlSeconds: e.ML_PREDICTION_TTL,
    stockDataTtlSeconds: e.STOCK_DATA_TTL,
    fetchBudgetSeconds: e.MARKET_FETCH_BUDGET,
    unknownSymbolTtlSeconds: e.MARKET_UNKNOWN_SYMBOL_TTL,
    lookupQueueMax: e.MARKET_LOOKUP_QUEUE_MAX,
    tfjsBackend: e.TFJS_BACKEND,
    inference: e.INFERENCE,
    apiKeys: e.API_KEYS,
    corsOrigins: e.CORS_ORIGINS,
    logLevel: e.LOG_LEVEL,
    logMaxSize: e.LOG_MAX_SIZE,
    logKeepFiles: e.LOG_KEEP_FILES,
    buyThreshold: e.STOCK_BUY_THRESHOLD,
    sellThreshold: e.STOCK_SELL_THRESHOLD,
    rateLimitMax: e.RATE_LIMIT_MAX,
    trustProxy: e.TRUST_PROXY,
    rateLimitWindowSeconds: e.RATE_LIMIT_WINDOW,
    bodyLimit: e.BODY_LIMIT,
    memoryCacheMax: e.MEMORY_CACHE_MAX,
    modelWatchIntervalSeconds: e.MODEL_WATCH_INTERVAL,
    modelKeepVersions: e.MODEL_KEEP_VERSIONS,
    storageMetricsIntervalSeconds: e.STORAGE_METRICS_INTERVAL,
    seedOnStart: e.SEED_ON_START,
    shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT,
    loadShedding: {
      maxEventLoopDelayMs: e.LOAD_MAX_EVENT_LOOP_DELAY,
      maxHeapUsedBytes: e.LOAD_MAX_HEAP_BYTES || Math.floor(0.9 * getHeapStatistics().heap_size_limit),
      maxQueueWaitMs: e.LOAD_MAX_QUEUE_WAIT,
      computeSlots: e.LOAD_COMPUTE_SLOTS,
      retryAfterSeconds: e.LOAD_RETRY_AFTER,
    },
    server: {
      headersTimeoutSeconds: e.HEADERS_TIMEOUT,
      requestTimeoutSeconds: e.REQUEST_TIMEOUT,
      keepAliveTimeoutSeconds: e.KEEP_ALIVE_TIMEOUT,
      connectionTimeoutSeconds: e.CONNECTION_TIMEOUT,
    },
    databaseUrl: e.DATABASE_URL,
    dailyPrediction: {
      enabled: e.DAILY_PREDICTION_ENABLED,
      symbols: e.DAILY_PREDICTION_SYMBOLS.map((s) => s.toUpperCase()),
      time: e.DAILY_PREDICTION_TIME,
      horizon: e.DAILY_PREDICTION_HORIZON,
    },
    actualsWatchIntervalSeconds: e.ACTUALS_WATCH_INTERVAL,
    retrainingTime: e.RETRAINING_TIME,
    training,
  };
}
