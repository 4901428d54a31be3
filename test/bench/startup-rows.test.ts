import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const HTTP_BENCH = fileURLToPath(new URL('../../bench/http.js', import.meta.url));

/**
 * `npm run bench` is not part of the suite (minutes of load on purpose), so a change to what models are made of once
 * broke its 1,000-model start unnoticed: the copies lacked the volatility head and none loaded. Its start-up rows
 * run here with a few models, every one of which must load on the fused path. (The bench gives up waiting for
 * readiness after 2 minutes and says why; the timeout here is longer, so that reason reaches the failure.)
 */
test('the benchmark’s many-models start loads every generated model on the fused path', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [HTTP_BENCH, '--only', 'startup', '--models', '12'], { timeout: 180_000 });
  assert.match(stdout, /\| start → \/health\/ready with 12 models \(12 ready\), target ≤ 5 s \| \d+\.\d+ s \| copies of the shipped NVDA model v\w+; models fused\/tfjs: 12\/0, tfjs backend: none/);
  assert.match(stdout, /\| memory per loaded model \(process RSS difference \/ model difference\) \| -?\d+ KiB \| RSS \d+ MiB with 12 models vs \d+ MiB with \d+ \|/);
});
