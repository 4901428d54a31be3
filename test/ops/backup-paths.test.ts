import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { buildApp } from '../../src/server/app.js';
import { verifyArchive } from '../../src/ops/restore.js';
import { sampleDir } from '../helpers/paths.js';
import { testConfig } from '../server/fixtures.js';
import { runOps } from './cli.js';

/**
 * The ops CLI and the service agree on where backups are: `ops backup` honours BACKUP_PATH and
 * ML_MODEL_PATH from the same validated configuration the service loads, and `ops monitor` and the
 * last_backup_timestamp_seconds gauge both see that archive, by the same definition of an archive name.
 */
let root = '';
let data = '';
let env: Record<string, string> = {};

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ops-backup-paths-'));
  data = path.join(root, 'persistent_data');
  env = { BACKUP_PATH: path.join(root, 'elsewhere', 'backups'), ML_MODEL_PATH: path.join(root, 'elsewhere', 'models') };
  assert.equal((await runOps(['setup', '--data', data, '--no-chown'])).code, 0);
  await mkdir(env.ML_MODEL_PATH ?? '', { recursive: true });
  await writeFile(path.join(env.ML_MODEL_PATH ?? '', 'README.txt'), 'models live outside persistent_data here\n');
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('ops backup writes into BACKUP_PATH and archives the ML_MODEL_PATH folder; ops monitor and the gauge see that archive', async () => {
  const backup = await runOps(['backup', '--data', data], { env });
  assert.equal(backup.code, 0, backup.stderr);
  const archive = backup.stdout.split('\n')[0] ?? '';
  assert.equal(path.dirname(archive), env.BACKUP_PATH, 'the archive is in BACKUP_PATH');
  assert.deepEqual((await readdir(path.join(data, 'backups'))).filter((name) => name.endsWith('.tar.gz')), [], 'nothing in the default folder');
  const manifest = await verifyArchive(archive);
  assert.ok('ml_models/README.txt' in manifest.files, 'the models section is the ML_MODEL_PATH folder');

  // A .tar.gz that is not a backup archive, newer than the backup: neither reader may take it for one.
  const stray = path.join(env.BACKUP_PATH ?? '', 'notes.tar.gz');
  await writeFile(stray, 'not a backup');
  const later = new Date(Date.now() + 3_600_000);
  await utimes(stray, later, later);
  const archiveSeconds = (await stat(archive)).mtimeMs / 1000;

  const monitor = await runOps(['monitor', '--data', data, '--json', '--no-health'], { env });
  assert.equal(monitor.code, 0, monitor.stderr);
  const report = JSON.parse(monitor.stdout) as { backups: { count: number; last: { file: string } | null } };
  assert.equal(report.backups.count, 1);
  assert.equal(report.backups.last?.file, archive);

  const emptyModels = path.join(root, 'no-shipped-models');
  await mkdir(emptyModels);
  const app = await buildApp({ config: testConfig(data, env), logToStdout: false, shippedModelsDir: emptyModels, sampleDataDir: sampleDir });
  try {
    await app.ready();
    await app.started;
    // The gauge is refreshed off the request path right after start-up: poll, bounded.
    let gauge = 0;
    for (let attempt = 0; attempt < 200 && gauge === 0; attempt += 1) {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      gauge = Number(/^last_backup_timestamp_seconds (\S+)$/m.exec(text)?.[1] ?? 0);
      if (gauge === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(Math.abs(gauge - archiveSeconds) < 0.01, `the gauge reads the archive's mtime (${gauge} vs ${archiveSeconds})`);
  } finally {
    await app.close();
  }
});

test('ops refuses an invalid configuration as the service does, naming the variable', async () => {
  const result = await runOps(['monitor', '--data', data, '--no-health'], { env: { PORT: 'eighty' } });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^ops: Invalid environment variable PORT: /m);
});
