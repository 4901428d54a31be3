import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitFor, waitReady } from '../helpers/service-process.js';
import { mountTmpfs } from '../helpers/tmpfs.js';
import { startServiceOn, withTinyModels } from './fixtures.js';

interface HealthJson {
  status: string;
  services: { disk: { status: string; message: string } };
}

describe('a full log disk is a degraded state, not a crash (real process, real tmpfs)', () => {
  const models = withTinyModels(['nvda', 'global']);

  it('drops and counts log lines while the log file system is full, keeps answering, and resumes logging when space returns', async (t) => {
    const disk = await mountTmpfs(t, 1024);
    const { service, base } = await startServiceOn(t, models(), { LOG_PATH: disk.dir });
    await waitReady(base, service);
    const logFile = path.join(disk.dir, 'application', 'stock-prediction.log');
    assert.equal((await fetch(`${base}/api/v1/predict/NVDA?days=3`)).status, 200);
    await waitFor('the first request in the log', async () => ((await readFile(logFile, 'utf8')).includes('/api/v1/predict/NVDA') ? true : undefined));

    await disk.fill();
    // Each request logs one line: the first hits the full disk, the rest are dropped while it stays full.
    let answered = 0;
    const urls = ['/api/v1/predict/NVDA?days=3', '/api/v1/historical/NVDA?days=5', '/health', '/api/v1/predict/NVDA?days=7'];
    for (let i = 0; i < 200; i += 1) {
      const res = await fetch(`${base}${urls[i % urls.length] ?? '/health'}`, { headers: { 'x-request-id': `while-full-${i}` } });
      if (res.status === 200) answered += 1;
      await res.arrayBuffer();
    }
    t.diagnostic(`requests answered while the log disk was full: ${answered}/200`);
    assert.equal(answered, 200, 'every request is answered while the log disk is full');
    assert.ok(service.running(), `the service is still running (stderr: ${service.stderr()})`);
    const health = (await (await fetch(`${base}/health`)).json()) as HealthJson;
    assert.equal(health.status, 'degraded');
    assert.equal(health.services.disk.status, 'degraded');
    assert.match(health.services.disk.message, /log file not writable \(ENOSPC/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const dropped = Number(/^log_lines_dropped_total (\d+)$/m.exec(metrics)?.[1] ?? 0);
    t.diagnostic(`log lines dropped: ${dropped}`);
    assert.ok(dropped >= 150, `most request lines were dropped and counted (${dropped})`);
    // Dropped from the file only: stdout still has them.
    assert.match(service.stdout(), /while-full-199/);

    await disk.free();
    // Logging resumes: a request made after space returned reaches the file (bounded wait).
    let n = 0;
    await waitFor('logging to resume', async () => {
      n += 1;
      await (await fetch(`${base}/health/live`, { headers: { 'x-request-id': `after-free-${n}` } })).arrayBuffer();
      const text = await readFile(logFile, 'utf8');
      return text.includes(`after-free-${n}`) ? true : undefined;
    }, 30_000, 200);
    const healed = (await (await fetch(`${base}/health`)).json()) as HealthJson;
    assert.notEqual(healed.services.disk.status, 'degraded', healed.services.disk.message);
    assert.match(healed.services.disk.message, /log lines were dropped earlier .*logging resumed/);

    service.kill('SIGTERM');
    const { code } = await service.done;
    assert.equal(code, 0, 'a clean shutdown');
  });
});
