import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { dataLayout } from '../../src/config/layout.js';
import { exists } from '../../src/ops/files.js';
import { run, runOps } from './cli.js';
import { snapshotTree } from './tree.js';

let project = '';

after(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

async function file(target: string, ageDays: number): Promise<string> {
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, 'x'.repeat(100));
  const at = new Date(Date.now() - ageDays * 86_400_000);
  await utimes(target, at, at);
  return target;
}

test('cleanup_data.sh applies the retention rules of ml_config.json; --dry-run deletes nothing; the live log and fresh files stay', async () => {
  project = await mkdtemp(path.join(tmpdir(), 'ops-cleanup-'));
  const data = path.join(project, 'persistent_data');
  assert.equal((await runOps(['setup', '--data', data, '--no-chown'])).code, 0);
  const layout = dataLayout(data);
  // Defaults: ml_cache 7d, stock_data/cache 7d, predictions 90d, logs 30d, 10 backups, 3 safety copies.
  const old = [
    await file(path.join(layout.mlCache, 'old.json'), 8),
    await file(path.join(layout.stockDataCache, 'yahoo', 'old.json'), 8),
    await file(path.join(layout.predictions, 'old.json'), 91),
    await file(path.join(layout.applicationLogs, 'stock-prediction.2026-01-01.1.log'), 31),
  ];
  const keep = [
    await file(path.join(layout.mlCache, 'fresh.json'), 1),
    await file(path.join(layout.predictions, 'recent.json'), 30),
    await file(layout.logFile, 40), // the live log is never deleted, whatever its mtime
    await file(path.join(layout.historical, 'NVDA.csv'), 400), // market data has no retention
    await file(layout.predictionsDb, 400), // the tracking database holds the records: never expired as a file
    await file(`${layout.predictionsDb}-wal`, 400),
  ];
  const archives: string[] = [];
  for (let i = 0; i < 12; i += 1) archives.push(await file(path.join(layout.backups, `stock_prediction_backup_202601${String(10 + i)}T000000Z.tar.gz`), 20 - i));
  for (let i = 0; i < 5; i += 1) await file(path.join(layout.backups, `pre_restore_202601${String(10 + i)}T000000Z`, 'ml_models', 'x'), 10);
  // A staging folder of a backup process that no longer exists (pid 2^22 + 1 is above pid_max's default).
  await file(path.join(layout.backups, '.staging.tmp-4194305-abcd', 'f'), 0);

  const before = await snapshotTree(data);
  const dry = await run(path.join(data, 'cleanup_data.sh'), ['--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /9 items, .*\(dry run: nothing deleted\)/);
  assert.deepEqual(await snapshotTree(data), before);

  const real = await run(path.join(data, 'cleanup_data.sh'), []);
  assert.equal(real.code, 0, real.stderr);
  for (const f of old) assert.equal(await exists(f), false, `${f} deleted`);
  for (const f of keep) assert.equal(await exists(f), true, `${f} kept`);
  assert.deepEqual(await Promise.all(archives.map(exists)), [false, false, ...Array(10).fill(true)], 'the 10 newest backups are kept');
  assert.equal(await exists(path.join(layout.backups, 'pre_restore_20260111T000000Z')), false);
  assert.equal(await exists(path.join(layout.backups, 'pre_restore_20260112T000000Z')), true, 'the 3 newest safety copies are kept');
  assert.equal(await exists(path.join(layout.backups, '.staging.tmp-4194305-abcd')), false, 'leftover of a dead backup removed');
});
