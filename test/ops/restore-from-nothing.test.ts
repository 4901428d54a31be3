import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import { dataLayout, layoutDirectories } from '../../src/config/layout.js';
import { ModelStore } from '../../src/model-store/store.js';
import { currentModels } from '../../src/ops/model-catalog.js';
import { sha256File } from '../../src/fs/file-digest.js';
import { repoRoot } from '../helpers/paths.js';
import { opsCli, run, runOps } from './cli.js';
import { snapshotTree, worldWritable } from './tree.js';

/**
 * Disaster recovery with the real ops CLI (a child process): the whole persistent_data folder is gone and only
 * an off-site archive is left; hostile archives (a symlink, files and manifest rewritten together) are refused
 * with one line and nothing changed.
 */
describe('disaster recovery from nothing, and hostile archives', () => {
  let project = '';
  let data = '';
  let archive = '';
  const HMAC_KEY = 'operator-secret-0123456789abcdef';

  before(async () => {
    project = await mkdtemp(path.join(tmpdir(), 'ops-dr-'));
    data = path.join(project, 'persistent_data');
    const layout = dataLayout(data);
    // A real tree: the shipped models and the sample prices, as a first start seeds them.
    await new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers }).seedFrom(path.join(repoRoot, 'models'));
    await mkdir(layout.historical, { recursive: true });
    for (const symbol of ['NVDA', 'AAPL']) await writeFile(path.join(layout.historical, `${symbol}.csv`), await readFile(path.join(repoRoot, 'data', 'sample', `${symbol}.csv`)));
    const backup = await runOps(['backup', '--data', data], { env: { BACKUP_HMAC_KEY: HMAC_KEY } });
    assert.equal(backup.code, 0, backup.stderr);
    const made = backup.stdout.split('\n')[0] ?? '';
    archive = path.join(project, 'offsite.tar.gz');
    await writeFile(archive, await readFile(made));
  });
  after(async () => {
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('`ops restore ARCHIVE --yes` rebuilds the whole tree after persistent_data was deleted', async () => {
    await rm(data, { recursive: true, force: true });
    // Under umask 000, as a careless cron or container might run it: modes must still be explicit.
    const restore = await run('/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, opsCli, 'restore', archive, '--yes', '--data', data], { env: { BACKUP_HMAC_KEY: HMAC_KEY } });
    assert.equal(restore.code, 0, restore.stderr + restore.stdout);
    assert.doesNotMatch(restore.stderr, /ENOENT|\n\s+at /, 'no stack trace');
    assert.match(restore.stdout, /signature verified/);
    const manifest = JSON.parse(await readManifest(archive)) as { files: Record<string, { sha256: string }> };
    for (const [name, digest] of Object.entries(manifest.files)) {
      assert.equal(await sha256File(path.join(data, ...name.split('/'))), digest.sha256, `${name} restored byte for byte`);
    }
    for (const dir of layoutDirectories(dataLayout(data))) assert.ok((await stat(dir)).isDirectory(), `${dir} exists`);
    assert.deepEqual(worldWritable(await snapshotTree(data)), []);
    const layout = dataLayout(data);
    const models = await currentModels(new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers }));
    assert.ok(models.length >= 8, `every model is back (${models.length})`);
    assert.deepEqual(models.filter((m) => m.error !== undefined), [], 'every restored model verifies');
  });

  it('refuses an archive holding a symlink with one line, nothing changed', async () => {
    const work = await mkdtemp(path.join(project, 'symlink-'));
    await tar.x({ file: archive, cwd: work });
    await symlink('/etc/passwd', path.join(work, 'stock_data', 'historical', 'EVIL.csv'));
    const hostile = path.join(project, 'symlink.tar.gz');
    await tar.c({ gzip: true, file: hostile, cwd: work }, ['MANIFEST.json', 'stock_data', 'ml_models']);
    const before = await snapshotTree(data);
    const result = await runOps(['restore', hostile, '--yes', '--data', data]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /^ops: .*stock_data\/historical\/EVIL\.csv is a SymbolicLink, only files are allowed\n$/);
    assert.deepEqual(await snapshotTree(data), before, 'nothing changed');
  });

  it('with BACKUP_HMAC_KEY, refuses an archive whose files and manifest were both rewritten; without it, says authenticity is not checked', async () => {
    const work = await mkdtemp(path.join(project, 'rewritten-'));
    await tar.x({ file: archive, cwd: work });
    // The attacker changes a price and recomputes its checksum in the manifest: the checksums alone agree.
    const csv = path.join(work, 'stock_data', 'historical', 'NVDA.csv');
    await writeFile(csv, `${await readFile(csv, 'utf8')}2099-01-02,1,1,1,1,1,1\n`);
    const manifestFile = path.join(work, 'MANIFEST.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { files: Record<string, { bytes: number; sha256: string }> };
    manifest.files['stock_data/historical/NVDA.csv'] = { bytes: (await readFile(csv)).length, sha256: await sha256File(csv) };
    await writeFile(manifestFile, JSON.stringify(manifest, null, 2));
    const rewritten = path.join(project, 'rewritten.tar.gz');
    const entries = (await readdir(work)).sort().filter((name) => name !== 'MANIFEST.json');
    await tar.c({ gzip: true, file: rewritten, cwd: work }, ['MANIFEST.json', ...entries]);

    const before = await snapshotTree(data);
    const signed = await runOps(['restore', rewritten, '--dry-run', '--data', data], { env: { BACKUP_HMAC_KEY: HMAC_KEY } });
    assert.equal(signed.code, 1, signed.stdout);
    assert.match(signed.stderr, /^ops: .*signature does not match/m);
    const wrongKey = await runOps(['restore', archive, '--dry-run', '--data', data], { env: { BACKUP_HMAC_KEY: 'another-key-0123456789abcdef' } });
    assert.equal(wrongKey.code, 1, 'the genuine archive under another key is refused too');
    // An unsigned archive (signature stripped) is refused when a key is configured.
    const stripped = path.join(project, 'stripped.tar.gz');
    await tar.c({ gzip: true, file: stripped, cwd: work }, ['MANIFEST.json', ...entries.filter((name) => name !== 'MANIFEST.sig')]);
    const unsigned = await runOps(['restore', stripped, '--dry-run', '--data', data], { env: { BACKUP_HMAC_KEY: HMAC_KEY } });
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /not signed/);
    assert.deepEqual(await snapshotTree(data), before, 'nothing changed');

    // Checksums only (no key): consistent rewrites cannot be told apart, and the output says so.
    const unchecked = await runOps(['restore', rewritten, '--dry-run', '--data', data], { env: { BACKUP_HMAC_KEY: '' } });
    assert.equal(unchecked.code, 0, unchecked.stderr);
    assert.match(unchecked.stdout, /authenticity not checked/);
  });
});

async function readManifest(archive: string): Promise<string> {
  const chunks: Buffer[] = [];
  await tar.t({
    file: archive,
    onReadEntry: (entry) => {
      if (entry.path === 'MANIFEST.json') entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    },
  });
  return Buffer.concat(chunks).toString('utf8');
}
