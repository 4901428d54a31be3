import assert from 'node:assert/strict';
import { cp, mkdir, readFile, readdir, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import { ModelStore } from '../../src/model-store/store.js';
import { sampleDir } from '../helpers/paths.js';
import { writeLegacyFiles } from '../keras-import/fixtures.js';
import { tempDir } from '../model-store/fixtures.js';
import { snapshotTree as tree } from './tree.js';
import { runOps } from './cli.js';

const STAMP = 'stock_prediction_backup_20250813_120000';
const ARCHIVE_TIME = new Date('2025-08-13T12:00:00Z');

/** What the original backup_data.sh made: stock_prediction_backup_<ts>/ with backup_info.json and copies of the data folders, tarred. */
async function legacyArchive(work: string): Promise<string> {
  const dir = path.join(work, STAMP);
  await mkdir(path.join(dir, 'ml_models'), { recursive: true });
  writeLegacyFiles(path.join(dir, 'ml_models'));
  await mkdir(path.join(dir, 'stock_data', 'historical'), { recursive: true });
  await cp(path.join(sampleDir, 'NVDA.csv'), path.join(dir, 'stock_data', 'historical', 'NVDA.csv'));
  await mkdir(path.join(dir, 'scalers'), { recursive: true });
  await writeFile(path.join(dir, 'scalers', 'README.txt'), 'scalers of v3.3\n');
  await mkdir(path.join(dir, 'config'), { recursive: true });
  await writeFile(path.join(dir, 'config', 'redis.conf'), 'appendonly yes\nmaxmemory 512mb\n');
  await mkdir(path.join(dir, 'ml_cache'), { recursive: true });
  await writeFile(path.join(dir, 'ml_cache', 'nvda_data.pkl'), 'cache');
  await mkdir(path.join(dir, 'logs'), { recursive: true });
  await writeFile(path.join(dir, 'logs', 'app.log'), 'log line\n');
  await writeFile(path.join(dir, 'backup_info.json'), JSON.stringify({ backup_time: '2025-08-13T12:00:00Z', backup_type: 'full', version: 'v3.3.1', directories: ['ml_models', 'ml_cache', 'scalers', 'stock_data', 'config', 'logs'] }, null, 2));
  for (const file of await readdir(dir, { recursive: true })) await utimes(path.join(dir, file), ARCHIVE_TIME, ARCHIVE_TIME);
  const archive = path.join(work, `${STAMP}.tar.gz`);
  await tar.c({ gzip: true, file: archive, cwd: work, portable: true }, [STAMP]);
  return archive;
}

describe('ops restore --legacy: backups of the original system', () => {
  let work: string;
  let archive: string;
  before(async () => {
    work = await tempDir('legacy-archive');
    archive = await legacyArchive(work);
  });
  after(async () => rm(work, { recursive: true, force: true }));

  async function dataWithNewerConfig(): Promise<string> {
    const data = await tempDir('legacy-restore-data');
    await mkdir(path.join(data, 'config'), { recursive: true });
    await writeFile(path.join(data, 'config', 'redis.conf'), 'appendonly yes\nmaxmemory 1gb\n');
    await mkdir(path.join(data, 'stock_data', 'historical'), { recursive: true });
    const older = path.join(data, 'stock_data', 'historical', 'NVDA.csv');
    await writeFile(older, 'date,open,high,low,close,adj_close,volume\n');
    await utimes(older, new Date('2020-01-01'), new Date('2020-01-01'));
    return data;
  }

  it('is refused without --legacy, as any archive without a manifest, and nothing changes', async () => {
    const data = await dataWithNewerConfig();
    try {
      const before = await tree(data);
      const res = await runOps(['restore', archive, '--yes', '--data', data]);
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /has no MANIFEST\.json/);
      assert.deepEqual(await tree(data), before);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });

  it('shows what the archive holds (--dry-run) and needs a confirmation', async () => {
    const data = await dataWithNewerConfig();
    try {
      const before = await tree(data);
      const dry = await runOps(['restore', '--legacy', archive, '--dry-run', '--data', data]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /a backup of the original system \(backup_info\.json, no checksums\)/);
      assert.match(dry.stdout, /version: v3\.3\.1/);
      assert.match(dry.stdout, /ml_models +2 files: \+2 new/);
      assert.match(dry.stdout, /ml_cache +1 files not restored/);
      assert.match(dry.stdout, /kept: \S+config\/redis\.conf \(modified [^)]+\) is newer than the archive's/);
      assert.match(dry.stdout, /replacing: \S+stock_data\/historical\/NVDA\.csv/);
      assert.match(dry.stdout, /dry run: nothing changed/);
      const unconfirmed = await runOps(['restore', '--legacy', archive, '--data', data]);
      assert.equal(unconfirmed.code, 2);
      assert.match(unconfirmed.stderr, /refusing to restore without confirmation/);
      assert.deepEqual(await tree(data), before);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });

  it('restores ml_models, scalers, stock_data and config, keeps the newer file, and imports the Keras model', async () => {
    const data = await dataWithNewerConfig();
    try {
      const res = await runOps(['restore', '--legacy', archive, '--yes', '--data', data]);
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
      assert.match(res.stdout, /restored 4 files from/);
      assert.equal(await readFile(path.join(data, 'config', 'redis.conf'), 'utf8'), 'appendonly yes\nmaxmemory 1gb\n', 'the newer config is kept');
      assert.equal(await readFile(path.join(data, 'stock_data', 'historical', 'NVDA.csv'), 'utf8'), await readFile(path.join(sampleDir, 'NVDA.csv'), 'utf8'));
      const safety = /what was replaced is kept in (\S+)/.exec(res.stdout)?.[1] as string;
      assert.equal((await readFile(path.join(safety, 'stock_data', 'historical', 'NVDA.csv'), 'utf8')).split('\n')[0], 'date,open,high,low,close,adj_close,volume');
      await stat(path.join(data, 'scalers', 'README.txt'));
      await assert.rejects(stat(path.join(data, 'ml_cache', 'nvda_data.pkl')), { code: 'ENOENT' });
      assert.match(res.stdout, /imported nvda_lstm_model\.h5 as nvda v\S+: test MAE/);
      const metadata = await new ModelStore({ modelsDir: path.join(data, 'ml_models'), scalersDir: path.join(data, 'scalers') }).readMetadata('nvda');
      assert.equal(metadata.origin?.model_file, 'nvda_lstm_model.h5');
      assert.equal(metadata.origin?.scaler_format, 'joblib');
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });

  it('imports a Keras model through the ops CLI too (npm run ops -- import-keras)', async () => {
    const data = await tempDir('ops-import-keras');
    try {
      await mkdir(path.join(data, 'stock_data', 'historical'), { recursive: true });
      await cp(path.join(sampleDir, 'NVDA.csv'), path.join(data, 'stock_data', 'historical', 'NVDA.csv'));
      const models = path.join(work, STAMP, 'ml_models');
      const res = await runOps(['import-keras', path.join(models, 'nvda_lstm_model.h5'), '--scaler', path.join(models, 'nvda_lstm_model_scalers.pkl'), '--symbol', 'NVDA', '--horizon', '2', '--data', data]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /^imported nvda_lstm_model\.h5 \(keras2/m);
      assert.equal((await new ModelStore({ modelsDir: path.join(data, 'ml_models'), scalersDir: path.join(data, 'scalers') }).readMetadata('nvda')).horizon, 2);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });

  it('refuses a truncated legacy archive with nothing changed', async () => {
    const data = await dataWithNewerConfig();
    const cut = path.join(work, 'cut.tar.gz');
    try {
      await cp(archive, cut);
      await truncate(cut, Math.floor((await stat(archive)).size / 2));
      const before = await tree(data);
      const res = await runOps(['restore', '--legacy', cut, '--yes', '--data', data]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /not a readable backup archive \(truncated or corrupt\)/);
      assert.deepEqual(await tree(data), before);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
