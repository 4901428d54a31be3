import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { MODELS_CLI, runCommand, TINY, type CliResult } from './run-cli.js';

const SCRIPT = path.join(repoRoot, 'scripts', 'check-before-test-split.sh');

/** The script run as an operator runs it, its temporary folder under `scratch`, with the compiled CLI. */
function runScript(args: readonly string[], scratch: string): Promise<CliResult> {
  return runCommand('bash', [SCRIPT, ...args], { TMPDIR: scratch, MODELS_CLI });
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
