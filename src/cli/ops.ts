#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config/env.js';
import type { DataLayout } from '../config/layout.js';
import { packageVersion } from '../config/package-root.js';
import { marketDataConfig } from '../config/market-data.js';
import { createMarketDataProvider } from '../market/factory.js';
import type { MarketDataProvider } from '../market/provider.js';
import { ModelStore } from '../model-store/store.js';
import { createBackup, type BackupProgress } from '../ops/backup.js';
import { ArchiveRejectedError } from '../ops/backup-manifest.js';
import { BACKUP_HMAC_ENV, BACKUP_SIGNATURE_NAME, backupKeyFrom } from '../ops/backup-signature.js';
import { applyCleanup, planCleanup } from '../ops/cleanup.js';
import { formatBytes } from '../ops/files.js';
import { currentModels, verifiedStagedVersions } from '../ops/model-catalog.js';
import { checkHealth, monitor, type MonitorReport } from '../ops/monitor.js';
import { readOpsConfig } from '../ops/ops-config.js';
import { planRetraining, retrainingSymbols, retrainPolicy } from '../ops/retraining-plan.js';
import { planRestore, restoreBackup, RestoreAbortedError, verifyArchive, type RestorePlan } from '../ops/restore.js';
import { SetupError, setupPersistentData } from '../ops/setup.js';
import { parseArgs, positiveInt, UsageError, type ParsedArgs } from './args.js';
import { runLegacyRestore } from './legacy-restore.js';
import { runModelsCli } from './models.js';
import { openTrackingStore } from '../tracking/open.js';
import type { TrackingStore } from '../tracking/store.js';

const USAGE = `usage: ops <command> [options]        (npm run ops -- <command> ..., node dist/src/cli/ops.js <command> ...)

Every command takes --data <dir> (default: $PERSISTENT_DATA_PATH, else ./persistent_data). Folders follow the
service's configuration: BACKUP_PATH, ML_MODEL_PATH, SCALERS_PATH, LOG_PATH, CONFIG_PATH... override their defaults.

  setup    [--compose-env F] [--no-chown]   create/complete persistent_data/, config, .env secrets, operator scripts
  backup   [--keep N] [--log-days N] [--redis-url URL] [--models-only]
                                            consistent .tar.gz with MANIFEST.json (sizes + sha256) in backups/
  restore  <archive> [--dry-run] [--yes] [--url URL]
                                            verify every checksum, then swap the archive's directories in
                                            (warns when a service still answers at URL, default loopback:PORT)
  restore  --legacy <archive> [--dry-run] [--yes] [--overwrite-newer] [--no-import]
                                            a backup_data.sh archive of the original system: restore its ml_models,
                                            scalers, stock_data and config (newer files kept unless --overwrite-newer),
                                            then import its Keras models
  import-keras FILE.h5 --scaler FILE --symbol SYM [...]   the models CLI's import-keras on this persistent_data
  monitor  [--json] [--url URL] [--no-health] sizes, file counts, last backup, model ages, service health
  cleanup  [--dry-run]                      retention rules of config/ml_config.json
  retrain  [--force] [--symbols A,B] [--max-age-days N] [--min-new-bars N] [--dry-run]
                                            back up models, then retrain missing/stale models via the models CLI`;

interface Io {
  readonly out: NodeJS.WriteStream;
  readonly err: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * The service's own validated configuration decides every path (PERSISTENT_DATA_PATH and the overrides
 * BACKUP_PATH, ML_MODEL_PATH, SCALERS_PATH, ...), so ops commands work on the folders the service
 * uses; --data stands in for PERSISTENT_DATA_PATH.
 */
function layoutFrom(args: ParsedArgs, env: NodeJS.ProcessEnv): DataLayout {
  const data = args.values.data;
  return loadConfig(data === undefined ? env : { ...env, PERSISTENT_DATA_PATH: data }).layout;
}

function modelStore(layout: DataLayout): ModelStore {
  return new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers });
}

function nonNegativeInt(args: ParsedArgs, name: string, fallback: number): number {
  const raw = args.values[name];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** A line per phase change and at most one per second (TTY: redrawn in place). */
function backupProgress(io: Io): (p: BackupProgress) => void {
  let last = 0;
  let lastPhase = '';
  return (p) => {
    const now = Date.now();
    const finished = p.done === p.total;
    if (p.phase === lastPhase && !finished && now - last < 1000) return;
    last = now;
    lastPhase = p.phase;
    const text = p.phase === 'copy'
      ? `copy ${p.done}/${p.total} files (${formatBytes(p.bytes)})`
      : p.phase === 'snapshot' ? 'asking Redis for a snapshot (BGSAVE)...' : `${p.phase} ${finished ? 'done' : '...'}`;
    if (io.err.isTTY) io.err.write(`\r\x1b[2K${text}${finished ? '\n' : ''}`);
    else io.err.write(`${text}\n`);
  };
}

async function runSetup(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'compose-env'], switches: ['no-chown'] });
  const layout = layoutFrom(args, io.env);
  const result = await setupPersistentData({
    root: layout.root,
    envFile: args.values['compose-env'],
    chown: !args.switches.has('no-chown'),
    redisPassword: io.env.REDIS_PASSWORD,
  });
  // Ownership changes can be thousands of lines on an old tree: count them, print the rest.
  const chowns = result.changes.filter((line) => line.startsWith('chown '));
  for (const line of result.changes) if (!line.startsWith('chown ')) io.out.write(`${line}\n`);
  if (chowns.length > 0) io.out.write(`changed the owner of ${chowns.length} paths to their container users (see persistent_data/README.md)\n`);
  io.out.write(result.changes.length === 0 ? `${layout.root} is complete: nothing changed\n` : `${layout.root} ready (${result.changes.length} changes); compose env: ${result.envFile}\n`);
  return 0;
}

async function runBackup(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'keep', 'log-days', 'redis-url'], switches: ['models-only'] });
  const layout = layoutFrom(args, io.env);
  const policy = await readOpsConfig(layout.config);
  const modelsOnly = args.switches.has('models-only');
  const result = await createBackup({
    layout,
    appVersion: packageVersion(),
    readModelVersions: verifiedStagedVersions,
    keep: positiveInt(args, 'keep', policy.backup.keep),
    logDays: nonNegativeInt(args, 'log-days', policy.backup.log_days),
    redisUrl: args.values['redis-url'] ?? io.env.REDIS_URL,
    ...(modelsOnly ? { sections: ['ml_models', 'scalers'] as const, label: 'models' } : {}),
    hmacKey: backupKeyFrom(io.env),
    onProgress: backupProgress(io),
  });
  const m = result.manifest;
  io.out.write(`${result.archive}\n`);
  io.out.write(`  ${backupKeyFrom(io.env) === undefined ? `unsigned (set ${BACKUP_HMAC_ENV} to sign)` : `signed: ${BACKUP_SIGNATURE_NAME} (HMAC-SHA256 of MANIFEST.json)`}\n`);
  io.out.write(`  ${m.totals.files} files, ${formatBytes(m.totals.bytes)} -> ${formatBytes(result.archiveBytes)} archive in ${result.seconds.toFixed(1)}s; sections: ${m.sections.join(', ')}\n`);
  io.out.write(`  models: ${Object.entries(m.models).map(([k, v]) => `${k}@${v ?? '-'}`).join(' ') || 'none'}; redis: ${m.redis.method} (${m.redis.detail})\n`);
  if (m.skipped.length > 0) io.out.write(`  not readable by uid ${process.getuid?.() ?? '?'}, skipped: ${m.skipped.join(', ')}\n`);
  for (const removed of result.removed) io.out.write(`  rotated out ${removed}\n`);
  return 0;
}

function printPlan(plan: RestorePlan, io: Io, signed: boolean): void {
  io.out.write(`${plan.archive}: ${plan.verifiedFiles} files verified against MANIFEST.json (created ${plan.manifest.created_at}, app ${plan.manifest.app_version})\n`);
  io.out.write(signed
    ? `  ${BACKUP_SIGNATURE_NAME} signature verified with ${BACKUP_HMAC_ENV}: the archive is as the key holder wrote it\n`
    : `  authenticity not checked (no ${BACKUP_HMAC_ENV}): checksums catch corruption, not a rewrite of files and manifest together\n`);
  for (const s of plan.sections) {
    io.out.write(`  ${s.section.padEnd(10)} ${s.mode}: +${s.added.length} added, ~${s.changed.length} changed, -${s.removed.length} removed  (${s.directory})\n`);
    const detail = [...s.added.map((f) => `+ ${f}`), ...s.changed.map((f) => `~ ${f}`), ...s.removed.map((f) => `- ${f}`)];
    for (const line of detail.slice(0, 20)) io.out.write(`      ${line}\n`);
    if (detail.length > 20) io.out.write(`      ... ${detail.length - 20} more\n`);
  }
}

async function runRestore(argv: string[], io: Io, stdin: NodeJS.ReadStream): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'url'], switches: ['dry-run', 'yes'] });
  const layout = layoutFrom(args, io.env);
  const archive = args.positionals[0];
  if (archive === undefined || args.positionals.length > 1) throw new UsageError('restore needs exactly one archive path');
  const hmacKey = backupKeyFrom(io.env);
  if (args.switches.has('dry-run')) {
    const manifest = await verifyArchive(path.resolve(archive), hmacKey);
    printPlan(await planRestore(layout, path.resolve(archive), manifest), io, hmacKey !== undefined);
    io.out.write('dry run: nothing changed\n');
    return 0;
  }
  if (!args.switches.has('yes') && stdin.isTTY !== true) {
    throw new UsageError('refusing to restore without confirmation: stdin is not a terminal; pass --yes to restore non-interactively');
  }
  const running = await checkHealth(args.values.url ?? `http://127.0.0.1:${io.env.PORT ?? '8081'}`, 1000);
  if (running.reachable) io.err.write(`warning: a service answers at ${running.url}; stop it (and Redis) before restoring, e.g. docker-compose -f docker-compose-persistent.yml stop\n`);
  const result = await restoreBackup({
    layout,
    archive: path.resolve(archive),
    hmacKey,
    confirm: async (plan) => {
      printPlan(plan, io, hmacKey !== undefined);
      if (args.switches.has('yes')) return true;
      const rl = createInterface({ input: stdin, output: io.out });
      try {
        const answer = await rl.question('Stop the service and Redis first. Replace these directories? [y/N] ');
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
  });
  io.out.write(`restored ${result.verifiedFiles} files from ${result.archive}\n`);
  io.out.write(result.safetyCopy === undefined ? 'nothing was replaced\n' : `what was replaced is kept in ${result.safetyCopy}\n`);
  return 0;
}

function printMonitor(report: MonitorReport, io: Io): void {
  io.out.write(`persistent_data: ${report.root}  (${formatBytes(report.total_bytes)} in ${report.total_files} files)\n`);
  for (const d of report.directories) io.out.write(`  ${d.directory.padEnd(12)} ${formatBytes(d.bytes).padStart(10)} ${String(d.files).padStart(7)} files\n`);
  const last = report.backups.last;
  io.out.write(last === null ? 'backups: none yet\n' : `backups: ${report.backups.count}, last ${path.basename(last.file)} (${formatBytes(last.bytes)}, ${(last.age_seconds / 3600).toFixed(1)} h ago)\n`);
  io.out.write(`models: ${report.models.length}\n`);
  for (const m of report.models) {
    io.out.write(m.error !== undefined ? `  ${m.key.padEnd(8)} ERROR ${m.error}\n`
      : `  ${m.key.padEnd(8)} ${m.version ?? '-'}  ${m.age_days ?? '?'} d old, data to ${m.data_to ?? '?'}, MAE/naive ${m.mae_ratio?.toFixed(3) ?? '?'}${m.beats_naive === false ? ' (does not beat naive)' : ''}\n`);
  }
  if (report.health !== null) {
    io.out.write(report.health.reachable ? `service: ${report.health.status} (HTTP ${report.health.http_status}) at ${report.health.url}\n` : `service: unreachable at ${report.health.url} (${report.health.error})\n`);
  }
}

async function runMonitor(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'url'], switches: ['json', 'no-health'] });
  const layout = layoutFrom(args, io.env);
  const url = args.switches.has('no-health') ? undefined : (args.values.url ?? `http://127.0.0.1:${io.env.PORT ?? '8081'}`);
  const report = await monitor({ layout, models: await currentModels(modelStore(layout)), healthUrl: url });
  if (args.switches.has('json')) io.out.write(`${JSON.stringify(report, null, 2)}\n`);
  else printMonitor(report, io);
  return 0;
}

async function runCleanup(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['data'], switches: ['dry-run'] });
  const layout = layoutFrom(args, io.env);
  const policy = await readOpsConfig(layout.config);
  const items = await planCleanup(layout, policy.retention, new Date());
  const dry = args.switches.has('dry-run');
  for (const item of items) io.out.write(`${dry ? 'would delete' : 'delete'} ${item.path} (${formatBytes(item.bytes)}; ${item.reason})\n`);
  if (!dry) await applyCleanup(items);
  io.out.write(`${items.length} items, ${formatBytes(items.reduce((s, i) => s + i.bytes, 0))}${dry ? ' (dry run: nothing deleted)' : ' deleted'}\n`);
  return 0;
}

/** The service's market-data provider (DATA_SOURCE and its settings from the environment) on this layout's history. */
function marketData(layout: DataLayout, env: NodeJS.ProcessEnv): MarketDataProvider {
  return createMarketDataProvider({ ...marketDataConfig(loadConfig(env)), historicalDir: layout.historical, stockDataCacheDir: layout.stockDataCache });
}

/** The tracking store the service writes, if there is one (never creates an empty SQLite file). */
async function existingTrackingStore(layout: DataLayout, env: NodeJS.ProcessEnv): Promise<TrackingStore | undefined> {
  const { databaseUrl } = loadConfig(env);
  if (!databaseUrl && !existsSync(layout.predictionsDb)) return undefined;
  return openTrackingStore({ databaseUrl, layout });
}

async function runRetrain(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'symbols', 'max-age-days', 'min-new-bars'], switches: ['force', 'dry-run'] });
  const layout = layoutFrom(args, io.env);
  const policy = await readOpsConfig(layout.config);
  const market = marketData(layout, io.env);
  const configured = args.values.symbols?.split(/[,\s]+/).filter(Boolean).map((s) => s.toUpperCase()) ?? policy.symbols;
  const store = modelStore(layout);
  const symbols = await retrainingSymbols(configured, market, store);
  const tracking = await existingTrackingStore(layout, io.env);
  let decisions;
  try {
    decisions = await planRetraining({
      store,
      market,
      symbols,
      tracking,
      policy: retrainPolicy(policy.retraining, {
        force: args.switches.has('force'),
        maxAgeDays: positiveInt(args, 'max-age-days', policy.retraining.max_age_days),
        minNewBars: positiveInt(args, 'min-new-bars', policy.retraining.min_new_bars),
      }),
    });
  } finally {
    await tracking?.close();
  }
  for (const d of decisions) io.out.write(`${d.symbol.padEnd(8)} ${d.retrain ? 'RETRAIN' : 'keep   '} ${d.reason}\n`);
  const todo = decisions.filter((d) => d.retrain).map((d) => d.symbol);
  if (todo.length === 0 || args.switches.has('dry-run')) {
    io.out.write(todo.length === 0 ? 'every model is up to date\n' : `dry run: would retrain ${todo.join(' ')}\n`);
    return 0;
  }
  const backup = await createBackup({
    layout, appVersion: packageVersion(), readModelVersions: verifiedStagedVersions, keep: policy.backup.keep, logDays: 0,
    sections: ['ml_models', 'scalers'], label: 'models', onProgress: backupProgress(io),
  });
  io.out.write(`models backed up to ${backup.archive}\n`);
  const modelsCli = fileURLToPath(new URL('./models.js', import.meta.url));
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [modelsCli, 'train', ...todo], { stdio: 'inherit', env: { ...io.env, PERSISTENT_DATA_PATH: layout.root } });
    child.on('error', reject);
    child.on('exit', (status, signal) => resolve(status ?? (signal === null ? 1 : 128)));
  });
  io.out.write(code === 0 ? `retrained ${todo.join(' ')}\n` : `training failed (exit ${code}); the previous models are in ${backup.archive}\n`);
  return code;
}

/** `--data DIR` (or `--data=DIR`) picked out of a command line passed on to another CLI, and the rest. */
function dataOnly(argv: readonly string[]): string[] {
  const at = argv.findIndex((a) => a === '--data' || a.startsWith('--data='));
  if (at < 0) return [];
  return argv[at] === '--data' ? argv.slice(at, at + 2) : [argv[at] as string];
}

function withoutData(argv: readonly string[]): string[] {
  const taken = dataOnly(argv);
  const at = argv.findIndex((a) => a === '--data' || a.startsWith('--data='));
  return at < 0 ? [...argv] : [...argv.slice(0, at), ...argv.slice(at + taken.length)];
}

export async function main(argv: string[], io: Io = { out: process.stdout, err: process.stderr, env: process.env }, stdin = process.stdin): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'setup': return await runSetup(rest, io);
      case 'backup': return await runBackup(rest, io);
      // A backup of the original system (backup_info.json, no checksums) is accepted only when asked for by name.
      case 'restore': return rest.includes('--legacy') ? await runLegacyRestore(rest.filter((a) => a !== '--legacy'), io, stdin) : await runRestore(rest, io, stdin);
      case 'import-keras': return await runModelsCli(['import-keras', ...withoutData(rest)], { ...io.env, PERSISTENT_DATA_PATH: layoutFrom(parseArgs(dataOnly(rest), { values: ['data'] }), io.env).root }, io.out, io.err);
      case 'monitor': return await runMonitor(rest, io);
      case 'cleanup': return await runCleanup(rest, io);
      case 'retrain': return await runRetrain(rest, io);
      case undefined: case '-h': case '--help': case 'help':
        io.out.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err.write(`ops: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ArchiveRejectedError || error instanceof RestoreAbortedError || error instanceof SetupError || error instanceof ConfigError) {
      io.err.write(`ops: ${error.message}\n`);
      return 1;
    }
    io.err.write(`ops: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
