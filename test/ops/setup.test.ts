import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { dataLayout, layoutDirectories } from '../../src/config/layout.js';
import { defaultOpsConfig, readOpsConfig } from '../../src/ops/ops-config.js';
import { parseEnvFile } from '../../src/ops/templates.js';
import { freePort } from '../helpers/free-port.js';
import { repoRoot } from '../helpers/paths.js';
import { reachableByOthers, run, type RunResult } from './cli.js';
import { snapshotTree, worldWritable } from './tree.js';

const permissionBits = (mode: number): number => mode & ~constants.S_IFMT;

const isRoot = process.getuid?.() === 0;
const setupScript = path.join(repoRoot, 'scripts', 'setup_persistent_data.sh');
const temps: string[] = [];

async function tempProject(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ops-setup-'));
  temps.push(dir);
  return dir;
}

function setup(data: string, ...extra: string[]): Promise<RunResult> {
  return run('bash', [setupScript, data, ...(isRoot ? [] : ['--no-chown']), ...extra]);
}

after(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

test('setup creates the seed tree, config, .env and operator scripts; a second run changes nothing; nothing is world-writable', async () => {
  const project = await tempProject();
  const data = path.join(project, 'persistent_data');
  const first = await setup(data);
  assert.equal(first.code, 0, first.stderr);
  for (const dir of layoutDirectories(dataLayout(data))) assert.ok((await stat(dir)).isDirectory(), `${dir} created`);
  for (const name of ['backup_data.sh', 'restore_data.sh', 'monitor_data.sh', 'cleanup_data.sh']) {
    assert.equal((await stat(path.join(data, name))).mode & 0o111, 0o111, `${name} is executable`);
  }
  assert.match(await readFile(path.join(data, 'README.md'), 'utf8'), /Nothing here is world-writable/);
  const envFile = path.join(project, '.env');
  assert.equal(permissionBits((await stat(envFile)).mode), 0o600, '.env holds secrets: mode 600');
  const env = parseEnvFile(await readFile(envFile, 'utf8'));
  for (const secret of ['GRAFANA_ADMIN_PASSWORD', 'REDIS_PASSWORD', 'POSTGRES_PASSWORD', 'API_KEYS']) assert.ok((env.get(secret) ?? '').length >= 24, `${secret} is a random secret`);
  assert.match(await readFile(path.join(data, 'config', 'redis.conf'), 'utf8'), new RegExp(`^requirepass ${env.get('REDIS_PASSWORD')}$`, 'm'));

  const before = await snapshotTree(project);
  assert.deepEqual(worldWritable(before), []);
  const second = await setup(data);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /nothing changed/);
  assert.deepEqual(await snapshotTree(project), before, 'second run changed nothing (modes, owners, mtimes, contents)');
});

test('as root, each directory belongs to the user its container runs as', { skip: !isRoot && 'ownership mapping needs root (CI runs as root)' }, async () => {
  const data = path.join(await tempProject(), 'persistent_data');
  assert.equal((await setup(data)).code, 0);
  const owner = async (rel: string): Promise<string> => {
    const info = await stat(path.join(data, rel));
    return `${info.uid}:${info.gid}`;
  };
  assert.equal(await owner('.'), '1001:1001');
  assert.equal(await owner('ml_models'), '1001:1001');
  assert.equal(await owner('logs/application'), '1001:1001');
  assert.equal(await owner('redis'), '999:999');
  assert.equal(await owner('prometheus'), '65534:65534');
  assert.equal(await owner('logs/prometheus'), '65534:65534');
  assert.equal(await owner('grafana'), '472:0');
  assert.equal(await owner('logs/grafana'), '472:0');
  assert.equal(await owner('frontend/cache'), '101:101');
  // The Redis config holds the password: the app owns it, only the redis group may read it.
  assert.equal(await owner('config/redis.conf'), '1001:999');
  assert.equal(permissionBits((await stat(path.join(data, 'config', 'redis.conf'))).mode), 0o640);
});

test('without root, setup refuses to chown and explains --no-chown; with --no-chown every container runs as the operator', async () => {
  const project = await tempProject();
  const data = path.join(project, 'persistent_data');
  await mkdir(data, { mode: 0o755 });
  // As root, act as an unprivileged operator (uid 65534); otherwise we already are one.
  const operator = isRoot ? { uid: 65534, gid: 65534 } : {};
  const uid = isRoot ? 65534 : process.getuid?.();
  if (isRoot) {
    await chmod(project, 0o755);
    await chown(data, 65534, 65534);
    await chown(project, 65534, 65534);
  }
  const script = isRoot ? await reachableByOthers(setupScript) : setupScript;
  const refused = await run('bash', [script, data], operator);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /needs root.*--no-chown/);
  const ok = await run('bash', [script, data, '--no-chown'], operator);
  assert.equal(ok.code, 0, ok.stderr);
  const env = parseEnvFile(await readFile(path.join(project, '.env'), 'utf8'));
  for (const name of ['APP_UID', 'REDIS_UID', 'PROMETHEUS_UID', 'GRAFANA_UID', 'NGINX_UID']) assert.equal(env.get(name), String(uid));
  assert.equal((await stat(path.join(data, 'redis'))).uid, uid);
});

test('setup refuses a path that is a file or not writable, and changes nothing', async () => {
  const project = await tempProject();
  const file = path.join(project, 'persistent_data');
  await writeFile(file, 'not a directory');
  const result = await setup(file);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /exists but is not a directory/);
  assert.equal(await readFile(file, 'utf8'), 'not a directory');

  if (isRoot) {
    await chmod(project, 0o755);
    const readOnly = path.join(project, 'readonly_data');
    await mkdir(readOnly, { mode: 0o755 });
    const before = await snapshotTree(readOnly);
    const denied = await run('bash', [await reachableByOthers(setupScript), readOnly, '--no-chown'], { uid: 65534, gid: 65534 });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /is not writable/);
    assert.deepEqual(await snapshotTree(readOnly), before);
  }
});

test('setup removes the world-write bits the v3.3.1 setup left (world-writable data directories)', async () => {
  const data = path.join(await tempProject(), 'persistent_data');
  await mkdir(path.join(data, 'redis'), { recursive: true });
  await writeFile(path.join(data, 'redis', 'dump.rdb'), 'x');
  await chmod(path.join(data, 'redis'), 0o757); // world-writable, as the v3.3.1 setup left it
  await chmod(path.join(data, 'redis', 'dump.rdb'), 0o666);
  const result = await setup(data);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /removed world-write permission/);
  assert.deepEqual(worldWritable(await snapshotTree(data)), []);
});

test('the generated redis.conf runs a real redis-server that requires the .env password, with AOF and a memory limit that evicts nothing', async () => {
  const project = await tempProject();
  const data = path.join(project, 'persistent_data');
  assert.equal((await setup(data)).code, 0);
  const password = parseEnvFile(await readFile(path.join(project, '.env'), 'utf8')).get('REDIS_PASSWORD') ?? '';
  const port = await freePort();
  const redisDir = path.join(project, 'redis-run');
  await mkdir(redisDir);
  // Only the network settings differ from the container (loopback, free port); data goes to the working directory as in the image.
  const child = spawn('redis-server', [path.join(data, 'config', 'redis.conf'), '--port', String(port), '--bind', '127.0.0.1'], { stdio: 'ignore', cwd: redisDir });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    // The server needs a moment to listen: retry the connection, not the NOAUTH reply.
    const anonymous = new Redis({ port, host: '127.0.0.1', retryStrategy: (n) => (n > 100 ? null : 100), maxRetriesPerRequest: 100 });
    anonymous.on('error', () => undefined);
    await assert.rejects(anonymous.ping(), /NOAUTH/);
    anonymous.disconnect();
    const client = new Redis({ port, host: '127.0.0.1', password, maxRetriesPerRequest: 5 });
    try {
      assert.equal(await client.ping(), 'PONG');
      assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
      assert.deepEqual(await client.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
      assert.deepEqual(await client.config('GET', 'maxmemory'), ['maxmemory', String(256 * 1024 * 1024)]);
    } finally {
      client.disconnect();
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test('config/ml_config.json holds the ops policy, and the installed monitor script reports the fresh tree', async () => {
  const data = path.join(await tempProject(), 'persistent_data');
  assert.equal((await setup(data)).code, 0);
  assert.deepEqual(await readOpsConfig(path.join(data, 'config')), defaultOpsConfig());
  const result = await run(path.join(data, 'monitor_data.sh'), ['--json', '--no-health']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { directories: { directory: string }[]; backups: { count: number }; models: unknown[] };
  const names = report.directories.map((d) => d.directory);
  for (const name of ['ml_models', 'ml_cache', 'scalers', 'stock_data', 'logs', 'config', 'backups', 'redis', 'prometheus', 'grafana', 'frontend']) assert.ok(names.includes(name), name);
  assert.equal(report.backups.count, 0);
  assert.deepEqual(report.models, []);
});
