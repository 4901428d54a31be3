import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import * as tar from 'tar';
import { dataLayout } from '../../src/config/layout.js';
import { verifyArchive } from '../../src/ops/restore.js';
import { sha256File } from '../../src/fs/file-digest.js';
import { walkFiles } from '../../src/ops/files.js';
import { freePort } from '../helpers/free-port.js';
import { repoRoot } from '../helpers/paths.js';
import { API_KEY, startApp, trainTinyModels, type ModelsFixture, type TestServer } from '../server/fixtures.js';
import { run, type RunResult } from './cli.js';
import { snapshotTree, worldWritable } from './tree.js';

/**
 * The operator's disaster drill with the real pieces: the real service (tiny real LSTMs, real
 * Redis) under concurrent load while persistent_data/backup_data.sh runs; then persistent_data is
 * wiped, recreated by setup and restored by restore_data.sh; the restarted service must give the
 * same predictions. Bad archives must be refused with nothing changed.
 */
const isRoot = process.getuid?.() === 0;
const SYMBOLS = ['NVDA', 'AAPL', 'MSFT']; // MSFT has no model of its own: the global model answers
let models: ModelsFixture;
let project = '';
let data = '';
let offsiteArchive = '';

interface PredictionView {
  symbol: string;
  model_version: string;
  as_of: string;
  predicted_price: number;
  forecast: { date: string; price: number; lower_80: number; upper_80: number; lower_95: number; upper_95: number }[];
}

/**
 * A real redis-server whose data directory is persistent_data/redis, as in the compose stack
 * (the shared test helper uses a private temp dir, and Redis 7 refuses CONFIG SET dir).
 */
async function startRedisIn(dir: string): Promise<{ url: string; client: Redis; stop(): Promise<void> }> {
  const port = await freePort();
  // Append-only, as config/redis.conf sets it in the stack.
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { retryStrategy: (n) => (n > 100 ? null : 50), maxRetriesPerRequest: 100 });
  client.on('error', () => undefined);
  assert.equal(await client.ping(), 'PONG');
  return {
    url,
    client,
    async stop() {
      client.disconnect();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function setup(): Promise<RunResult> {
  return run('bash', [path.join(repoRoot, 'scripts', 'setup_persistent_data.sh'), data, ...(isRoot ? [] : ['--no-chown'])]);
}

async function start(env: Record<string, string>, shippedModelsDir: string): Promise<{ server: TestServer; base: string }> {
  const server = await startApp({ ...models, modelsDir: shippedModelsDir }, data, env);
  const port = await freePort();
  await server.app.listen({ port, host: '127.0.0.1' });
  return { server, base: `http://127.0.0.1:${port}` };
}

async function predictions(base: string, days: number): Promise<PredictionView[]> {
  const out: PredictionView[] = [];
  for (const symbol of SYMBOLS) {
    const response = await fetch(`${base}/api/v1/predict/${symbol}?days=${days}`);
    assert.equal(response.status, 200, `${symbol}: ${await response.clone().text()}`);
    const body = (await response.json()) as PredictionView;
    out.push({ symbol: body.symbol, model_version: body.model_version, as_of: body.as_of, predicted_price: body.predicted_price, forecast: body.forecast });
  }
  return out;
}

function assertSamePredictions(actual: PredictionView[], expected: PredictionView[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => {
    const e = expected[i] as PredictionView;
    assert.equal(a.symbol, e.symbol);
    assert.equal(a.model_version, e.model_version, `${a.symbol}: same model version`);
    assert.equal(a.as_of, e.as_of);
    assert.ok(Math.abs(a.predicted_price - e.predicted_price) < 1e-9, `${a.symbol}: ${a.predicted_price} vs ${e.predicted_price}`);
    assert.equal(a.forecast.length, e.forecast.length);
    a.forecast.forEach((point, j) => {
      const other = e.forecast[j];
      assert.equal(point.date, other?.date);
      for (const field of ['price', 'lower_80', 'upper_80', 'lower_95', 'upper_95'] as const) {
        assert.ok(Math.abs(point[field] - (other?.[field] ?? Number.NaN)) < 1e-9, `${a.symbol} ${point.date} ${field}`);
      }
    });
  });
}

/** sha256 of every file of the sections the service does not write while serving. */
async function stableChecksums(): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for (const dir of ['ml_models', 'scalers', 'stock_data/historical']) {
    for (const entry of await walkFiles(path.join(data, dir))) sums[`${dir}/${entry.rel}`] = await sha256File(path.join(data, dir, entry.rel));
  }
  return sums;
}

before(async () => {
  models = await trainTinyModels();
  project = await mkdtemp(path.join(tmpdir(), 'ops-backup-'));
  data = path.join(project, 'persistent_data');
  const result = await setup();
  assert.equal(result.code, 0, result.stderr);
});

after(async () => {
  await models?.cleanup();
  if (project) await rm(project, { recursive: true, force: true });
});

test('backup under load, wipe, setup + restore: checksums match and the service gives the same predictions', async () => {
  const redis = await startRedisIn(dataLayout(data).redis);
  const first = await start({ REDIS_URL: redis.url }, models.modelsDir);
  let expected: PredictionView[];
  let stable: Record<string, string>;
  let backup: RunResult;
  let backupSeconds: number;
  const statuses = new Map<number, number>();
  try {
    expected = await predictions(first.base, 5);
    await redis.client.set('ops-test:marker', 'before-backup');
    stable = await stableChecksums();
    assert.ok(Object.keys(stable).some((f) => f.startsWith('ml_models/nvda_lstm_model/')), 'models were seeded into persistent_data');

    let loading = true;
    const worker = async (n: number): Promise<void> => {
      for (let i = 0; loading; i += 1) {
        const symbol = SYMBOLS[(i + n) % SYMBOLS.length] ?? 'NVDA';
        const url = i % 4 === 3 ? `${first.base}/api/v1/historical/${symbol}?days=60` : `${first.base}/api/v1/predict/${symbol}?days=${1 + ((i * 7 + n) % 10)}`;
        const response = await fetch(url);
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    };
    const load = [0, 1, 2, 3].map(worker);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const t0 = performance.now();
    backup = await run(path.join(data, 'backup_data.sh'), ['--redis-url', redis.url]);
    backupSeconds = (performance.now() - t0) / 1000;
    loading = false;
    await Promise.all(load);

    const monitor = await run(path.join(data, 'monitor_data.sh'), ['--json', '--url', first.base]);
    assert.equal(monitor.code, 0, monitor.stderr);
    const report = JSON.parse(monitor.stdout) as {
      health: { reachable: boolean; http_status: number; status: string };
      backups: { count: number; last: { age_seconds: number } | null };
      models: { key: string; version: string | null; age_days?: number }[];
      directories: { directory: string; bytes: number; files: number }[];
    };
    assert.equal(report.health.reachable, true);
    assert.equal(report.health.http_status, 200);
    assert.match(report.health.status, /^(healthy|degraded)$/);
    assert.equal(report.backups.count, 1);
    assert.ok((report.backups.last?.age_seconds ?? Infinity) < 120, 'the backup just made is the last one');
    assert.deepEqual(report.models.map((m) => m.key), ['aapl', 'global', 'nvda']);
    assert.ok(report.models.every((m) => m.version !== null && (m.age_days ?? Infinity) < 1), 'fresh models with versions');
    assert.ok((report.directories.find((d) => d.directory === 'ml_models')?.files ?? 0) > 0);
  } finally {
    await first.server.app.close();
    await redis.stop();
  }
  assert.equal(backup.code, 0, backup.stderr);
  const served = [...statuses.values()].reduce((a, b) => a + b, 0);
  assert.deepEqual([...statuses.keys()], [200], `every request during the backup succeeded: ${JSON.stringify([...statuses])}`);
  assert.ok(served >= 8, `the service was under load during the backup (${served} requests)`);
  assert.match(backup.stderr, /copy \d+\/\d+ files/, 'progress is printed');

  const archive = backup.stdout.split('\n')[0] ?? '';
  const manifest = await verifyArchive(archive);
  if (isRoot) assert.equal((await stat(archive)).uid, 1001, 'a backup run as root still belongs to the app user');
  assert.equal(manifest.redis.method, 'bgsave');
  assert.ok('redis/appendonlydir/appendonly.aof.1.base.rdb' in manifest.files, 'the fresh Redis snapshot is in the archive, as the base of an AOF');
  assert.deepEqual(Object.keys(manifest.models).sort(), ['aapl', 'global', 'nvda']);
  for (const [file, sum] of Object.entries(stable)) assert.equal(manifest.files[file]?.sha256, sum, `${file} archived as it was`);
  assert.ok(Object.keys(manifest.files).some((f) => f.startsWith('logs/application/')), 'recent logs are included');
  assert.ok(Object.keys(manifest.files).some((f) => f.startsWith('config/redis.conf')));

  // Off-site copy, then lose everything.
  offsiteArchive = path.join(project, 'offsite', path.basename(archive));
  await mkdir(path.dirname(offsiteArchive));
  await copyFile(archive, offsiteArchive);
  await rm(data, { recursive: true, force: true });

  const again = await setup();
  assert.equal(again.code, 0, again.stderr);
  const t1 = performance.now();
  const restore = await run(path.join(data, 'restore_data.sh'), [offsiteArchive, '--yes']);
  const restoreSeconds = (performance.now() - t1) / 1000;
  assert.equal(restore.code, 0, restore.stderr + restore.stdout);

  let verified = 0;
  for (const [name, digest] of Object.entries(manifest.files)) {
    const file = path.join(data, ...name.split('/'));
    assert.equal(await sha256File(file), digest.sha256, `${name} restored byte for byte`);
    verified += 1;
  }
  assert.deepEqual(await stableChecksums(), stable);
  assert.deepEqual(worldWritable(await snapshotTree(data)), []);
  if (isRoot) assert.equal((await stat(path.join(data, 'ml_models'))).uid, 1001, 'restored folders keep their container owner');

  // Redis, started as in the stack on the restored folder, has the data of the snapshot.
  const restoredRedis = await startRedisIn(dataLayout(data).redis);
  try {
    assert.equal(await restoredRedis.client.get('ops-test:marker'), 'before-backup');
    assert.ok((await restoredRedis.client.dbsize()) > 1, 'cached predictions came back with the snapshot');
  } finally {
    await restoredRedis.stop();
  }

  // Restart with nothing to seed from: the models can only come from the restore.
  const emptyShipped = path.join(project, 'no-shipped-models');
  await mkdir(emptyShipped);
  const second = await start({}, emptyShipped);
  try {
    const clear = await fetch(`${second.base}/api/v1/cache/clear`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(clear.status, 200, 'cache cleared: the predictions below are computed by the restored models');
    assertSamePredictions(await predictions(second.base, 5), expected);
  } finally {
    await second.server.app.close();
  }
  const archiveBytes = (await stat(offsiteArchive)).size;
  console.log(`round trip: archive ${archiveBytes} bytes, ${manifest.totals.files} files (${manifest.totals.bytes} bytes), backup ${backupSeconds.toFixed(2)}s under load (${served} requests served, all 200), restore ${restoreSeconds.toFixed(2)}s, ${verified} checksums verified, predictions identical for ${SYMBOLS.join(', ')}`);
});

async function refused(archive: string, pattern: RegExp): Promise<void> {
  const before = await snapshotTree(data);
  const result = await run(path.join(data, 'restore_data.sh'), [archive, '--yes']);
  assert.equal(result.code, 1, `${archive} refused (${result.stdout}${result.stderr})`);
  assert.match(result.stderr, pattern);
  assert.deepEqual(await snapshotTree(data), before, 'nothing changed');
}

test('tampered, padded (unlisted file), corrupt, truncated and missing archives are refused with nothing changed', async () => {
  assert.ok(offsiteArchive, 'the round trip produced an archive');
  const work = path.join(project, 'bad');
  await mkdir(work);
  const bytes = await readFile(offsiteArchive);

  // A model weight changed after the backup, manifest left as is.
  const unpacked = path.join(work, 'unpacked');
  await mkdir(unpacked);
  await tar.x({ file: offsiteArchive, cwd: unpacked });
  const weights = (await walkFiles(path.join(unpacked, 'ml_models'))).find((f) => f.rel.endsWith('weights.bin'));
  assert.ok(weights);
  const weightsFile = path.join(unpacked, 'ml_models', weights.rel);
  const content = await readFile(weightsFile);
  content[0] = (content[0] ?? 0) ^ 0xff;
  await writeFile(weightsFile, content);
  const tampered = path.join(work, 'tampered.tar.gz');
  await tar.c({ gzip: true, file: tampered, cwd: unpacked }, ['MANIFEST.json', 'ml_models', 'scalers', 'ml_cache', 'stock_data', 'config', 'logs', 'redis']);
  await refused(tampered, /does not match its manifest checksum/);

  // A file slipped in that the manifest does not list.
  await writeFile(path.join(unpacked, 'config', 'evil.conf'), 'x');
  await writeFile(weightsFile, (content[0] = (content[0] ?? 0) ^ 0xff, content));
  const extra = path.join(work, 'extra.tar.gz');
  await tar.c({ gzip: true, file: extra, cwd: unpacked }, ['MANIFEST.json', 'ml_models', 'scalers', 'ml_cache', 'stock_data', 'config', 'logs', 'redis']);
  await refused(extra, /not listed in the manifest/);

  // Bit rot inside the compressed stream.
  const flipped = Buffer.from(bytes);
  const at = Math.floor(flipped.length / 2);
  flipped[at] = (flipped[at] ?? 0) ^ 0x55;
  const corrupt = path.join(work, 'corrupt.tar.gz');
  await writeFile(corrupt, flipped);
  await refused(corrupt, /truncated or corrupt|does not match/);

  const truncated = path.join(work, 'truncated.tar.gz');
  await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  await refused(truncated, /truncated or corrupt/);

  await refused(path.join(work, 'missing.tar.gz'), /does not exist/);
});

test('restore asks on a terminal, refuses without one unless --yes; --dry-run lists the changes and changes nothing', async () => {
  assert.ok(offsiteArchive);
  const csv = path.join(data, 'stock_data', 'historical', 'NVDA.csv');
  await writeFile(csv, `${await readFile(csv, 'utf8')}2099-01-02,1,1,1,1,1,1\n`);
  await writeFile(path.join(data, 'ml_cache', 'stray-entry.json'), '{}');
  const before = await snapshotTree(data);

  const noTty = await run(path.join(data, 'restore_data.sh'), [offsiteArchive]);
  assert.equal(noTty.code, 2);
  assert.match(noTty.stderr, /not a terminal.*--yes/);
  assert.deepEqual(await snapshotTree(data), before);

  const dry = await run(path.join(data, 'restore_data.sh'), [offsiteArchive, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /~ historical\/NVDA\.csv/);
  assert.match(dry.stdout, /ml_cache +swap: .*-1 removed/, 'the stray cache entry would be removed');
  assert.match(dry.stdout, /dry run: nothing changed/);
  assert.deepEqual(await snapshotTree(data), before);

  // On a terminal (a pseudo-terminal from util-linux `script`) the operator is asked; "n" changes nothing, "y" restores.
  const onTerminal = (answer: string) => run('script', ['-qec', `${path.join(data, 'restore_data.sh')} ${offsiteArchive}`, '/dev/null'], { input: `${answer}\n` });
  const declined = await onTerminal('n');
  assert.equal(declined.code, 1, declined.stdout);
  assert.match(declined.stdout, /Replace these directories\? \[y\/N\]/);
  assert.match(declined.stdout, /restore cancelled: nothing was changed/);
  assert.deepEqual(await snapshotTree(data), before);

  const real = await onTerminal('y');
  assert.equal(real.code, 0, real.stdout);
  const safety = /kept in (\S+)/.exec(real.stdout)?.[1];
  assert.ok(safety, real.stdout);
  assert.match(await readFile(path.join(safety, 'stock_data', 'historical', 'NVDA.csv'), 'utf8'), /2099-01-02/, 'what was replaced is kept');
  assert.doesNotMatch(await readFile(csv, 'utf8'), /2099-01-02/);
});
