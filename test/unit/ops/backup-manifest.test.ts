import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArchiveRejectedError, isArchiveName, isSafeArchivePath, parseBackupManifest } from '../../../src/ops/backup-manifest.js';

test('archive paths must stay inside a declared section', () => {
  const sections = ['ml_models', 'config'];
  assert.equal(isSafeArchivePath('ml_models/nvda_lstm_model/CURRENT', sections), true);
  for (const bad of ['../etc/passwd', 'config/../../x', '/config/redis.conf', 'logs/app.log', 'config', 'config//x', 'config/a\\b']) {
    assert.equal(isSafeArchivePath(bad, sections), false, bad);
  }
});

test('a manifest naming a path outside its sections is refused before anything is extracted', () => {
  const manifest = {
    format: 'stock-prediction-backup/1', created_at: '2026-01-01T00:00:00Z', app_version: '4.0.0', sections: ['config'],
    models: {}, redis: { method: 'none', detail: '' }, log_days: 7, totals: { files: 1, bytes: 1 },
    files: { 'config/../../../root/.ssh/authorized_keys': { bytes: 1, sha256: 'a'.repeat(64) } },
  };
  assert.throws(() => parseBackupManifest(JSON.stringify(manifest), 'x.tar.gz'), (error) => error instanceof ArchiveRejectedError && /unsafe path/.test(error.message));
  assert.throws(() => parseBackupManifest('{"format":"other"}', 'x.tar.gz'), ArchiveRejectedError);
  assert.throws(() => parseBackupManifest('not json', 'x.tar.gz'), /not valid JSON/);
});

test('backup archive names', () => {
  assert.equal(isArchiveName('stock_prediction_backup_20261125T223000Z.tar.gz'), true);
  assert.equal(isArchiveName('stock_prediction_backup_20261125T223000Z_models.tar.gz'), true);
  assert.equal(isArchiveName('pre_restore_20261125T223000Z'), false);
});
