import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FileCacheTier } from '../../src/cache/file-tier.js';
import { writeFileAtomic } from '../../src/fs/atomic-file.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

/** Everything in `dir` but the filler that made the disk full. */
async function leftovers(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.name !== '.filler') out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

describe('writes on a full disk (real tmpfs)', () => {
  it('writeFileAtomic fails with ENOSPC and leaves no temporary file behind', async (t) => {
    const disk = await mountTmpfs(t, 512);
    await disk.fill();
    await assert.rejects(writeFileAtomic(path.join(disk.dir, 'entry.json'), 'x'.repeat(200_000)), { code: 'ENOSPC' });
    await assert.rejects(writeFileAtomic(path.join(disk.dir, 'small.json'), 'x'.repeat(5000), { durable: false }), { code: 'ENOSPC' });
    assert.deepEqual(await leftovers(disk.dir), []);
    await disk.free();
    await writeFileAtomic(path.join(disk.dir, 'entry.json'), 'x'.repeat(200_000));
    assert.deepEqual(await leftovers(disk.dir), ['entry.json'], 'writes succeed again once space returns');
  });

  it('a prediction cache write and a scaler write on a full disk leave no empty temp files', async (t) => {
    const disk = await mountTmpfs(t, 512);
    const errors: string[] = [];
    const cache = new FileCacheTier<string>({ directory: path.join(disk.dir, 'ml_cache'), ttlSeconds: 60, maxEntries: 100, onError: (e) => errors.push(e.message) });
    await cache.set('warm', 'up');
    await mkdir(path.join(disk.dir, 'scalers'));
    await disk.fill();
    await cache.set('NVDA:3', 'y'.repeat(100_000));
    assert.match(errors.join('\n'), /ENOSPC/, 'the cache reports the failure (a miss, not a crash)');
    assert.equal(await cache.get('NVDA:3'), undefined);
    // The model store writes scalers (and every model file) through writeFileAtomic, durable.
    await assert.rejects(
      writeFileAtomic(path.join(disk.dir, 'scalers', 'nvda_scaler_v20261130T000000Z.json'), JSON.stringify({ min: Array(20_000).fill(1) })),
      { code: 'ENOSPC' },
    );
    const names = await leftovers(disk.dir);
    assert.ok(!names.some((name) => name.includes('.tmp-')), `no temp file in ${names.join(', ')}`);
  });
});
