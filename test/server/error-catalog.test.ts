import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES, statusOf } from '../../src/errors.js';
import { repoRoot } from '../helpers/paths.js';

describe('error catalog', () => {
  it('is documented in the README: one table row per code with its status, nothing more, nothing less', async () => {
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    assert.deepEqual(rows, ERROR_CODES.map((code) => [code, statusOf(code)]));
  });

});
