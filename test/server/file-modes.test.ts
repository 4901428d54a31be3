import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { freePort } from '../helpers/free-port.js';
import { startServiceProcess, waitReady } from '../helpers/service-process.js';
import { snapshotTree, worldWritable } from '../ops/tree.js';
import { makeDataDir } from './fixtures.js';

describe('explicit file modes (real process under umask 000)', () => {
  it('creates nothing world-writable: seeded model folders, caches, logs', async (t) => {
    const dataDir = await makeDataDir();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // An empty persistent_data: the service seeds the shipped models and sample prices itself.
    const service = startServiceProcess(
      { PERSISTENT_DATA_PATH: dataDir, PORT: String(port), HOST: '127.0.0.1', MODEL_WATCH_INTERVAL: '0', LOAD_MAX_EVENT_LOOP_DELAY: '0', LOAD_MAX_QUEUE_WAIT: '0', LOG_LEVEL: 'info' },
      { umask: '000' },
    );
    // after-hooks run in the order they were added: the process is gone before its data directory is removed
    t.after(async () => {
      service.kill('SIGKILL');
      await service.done;
      await rm(dataDir, { recursive: true, force: true });
    });
    await waitReady(base, service, 180_000);
    for (const url of ['/api/v1/predict/NVDA?days=3', '/api/v1/predict/QQQ?days=2', '/api/v1/historical/AAPL?days=5']) {
      const res = await fetch(`${base}${url}`);
      assert.ok(res.status < 500, `${url}: ${res.status}`);
      await res.arrayBuffer();
    }
    service.kill('SIGTERM');
    assert.equal((await service.done).code, 0);
    const tree = await snapshotTree(dataDir);
    assert.ok(tree.filter((e) => e.type === 'dir' && e.path.startsWith('ml_models/')).length >= 9, 'the shipped models were seeded by the service');
    assert.ok(tree.some((e) => e.type === 'file' && e.path.startsWith('ml_cache/')), 'a cache entry was written');
    assert.ok(tree.some((e) => e.type === 'file' && e.path.startsWith('logs/application/')), 'the log was written');
    assert.deepEqual(worldWritable(tree), [], 'nothing world-writable under umask 000');
  });
});
