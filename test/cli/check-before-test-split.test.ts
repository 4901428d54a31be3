import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../helpers/paths.js';
import { TINY, type CliResult } from './run-cli.js';

const SCRIPT = path.join(repoRoot, 'scripts', 'check-before-test-split.sh');
const CLI = fileURLToPath(new URL('../../src/cli/models.js', import.meta.url));

function runScript(args: readonly string[], scratch: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), TMPDIR: scratch, MODELS_CLI: CLI };
    const child = spawn('bash', [SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('scripts/check-before-test-split.sh', () => {
  it('trains and evaluates every sample model on bars before the date only, in a folder it removes', async (t) => {
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'before-split-'));
    t.after(() => rm(scratch, { recursive: true, force: true }));
    const result = await runScript(['2024-01-02', ...TINY], scratch);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^train --all on bars before 2024-01-02 took \d+s$/m);
    // one row per sample symbol plus the global model, each test split ending before the date
    const rows = result.stdout.split('\n').filter((line) => /^\w+ v\d{8}T\d{6}Z /.test(line));
    assert.deepEqual(rows.map((line) => line.split(' ')[0]).sort(), ['aapl', 'amzn', 'global', 'googl', 'msft', 'nvda', 'spy', 'tsla']);
    for (const row of rows) {
      const end = /\d{4}-\d{2}-\d{2}\.\.(\d{4}-\d{2}-\d{2})/.exec(row)?.[1] ?? '';
      assert.ok(end !== '' && end < '2024-01-02', row);
    }
    assert.match(result.stdout, /^Band rules, chosen per model on validation data only/m);
    assert.deepEqual(await readdir(scratch), [], 'the temporary store is removed');
  });

  it('refuses a date that is not YYYY-MM-DD before training anything', async (t) => {
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'before-split-'));
    t.after(() => rm(scratch, { recursive: true, force: true }));
    const result = await runScript(['2024-1-2'], scratch);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /DATE must be YYYY-MM-DD, got 2024-1-2/);
    assert.deepEqual(await readdir(scratch), []);
  });
});
