import assert from 'node:assert/strict';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { dataLayout } from '../../src/config/layout.js';
import { verifyArchive } from '../../src/ops/restore.js';
import { run, runOps } from './cli.js';

let project = '';

after(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

test('a backup run as the app user (as in its container) skips other services\' private logs and says so', { skip: process.getuid?.() !== 0 && 'needs root to create files of several users' }, async () => {
  project = await mkdtemp(path.join(tmpdir(), 'ops-backup-perm-'));
  await chmod(project, 0o755);
  const data = path.join(project, 'persistent_data');
  assert.equal((await runOps(['setup', '--data', data])).code, 0);
  const layout = dataLayout(data);
  const grafanaLog = path.join(layout.logs, 'grafana', 'grafana.log');
  await writeFile(grafanaLog, 'private\n', { mode: 0o640 });
  await chown(grafanaLog, 472, 0);
  const appLog = layout.logFile;
  await writeFile(appLog, '{"msg":"hello"}\n');
  await chown(appLog, 1001, 1001);

  const result = await run(path.join(data, 'backup_data.sh'), [], { uid: 1001, gid: 1001 });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /skipped: logs\/grafana\/grafana\.log/);
  const manifest = await verifyArchive(result.stdout.split('\n')[0] ?? '');
  assert.deepEqual(manifest.skipped, ['logs/grafana/grafana.log']);
  assert.ok('logs/application/stock-prediction.log' in manifest.files);
  assert.ok('config/redis.conf' in manifest.files, 'the app user reads the Redis config (owner) it backs up');
});
