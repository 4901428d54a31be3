import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/service-process.js';

/** A process logging through the service's logger (compiled beside this test). */
const LOG_WRITER = fileURLToPath(new URL('./log-writer.js', import.meta.url));

type Writer = ChildProcessByStdio<Writable, Readable, null>;

/** Starts a log writer and waits until its first lines are on disk. */
async function startWriter(file: string, name: string): Promise<Writer> {
  const child = spawn(process.execPath, [LOG_WRITER, file, name], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const outcome = await waitFor(`${name} to open its log`, async () => (out.includes('open') ? 'open' : child.exitCode !== null ? 'exited' : undefined));
  if (outcome === 'exited') throw new Error(`${name} exited before its first lines were on disk (code ${child.exitCode}; its stderr is above)`);
  return child;
}

/** What `readlink` and `cat` show for a stable log name: its target, and the writer of each line. */
async function throughName(dir: string, name: string): Promise<{ target: string; writers: string[]; messages: string[] }> {
  const file = path.join(dir, `${name}.log`);
  const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { writer: string; msg: string });
  return { target: await readlink(file), writers: lines.map((line) => line.writer), messages: lines.map((line) => line.msg) };
}

describe('log files of replicas sharing one log folder', () => {
  it('keeps each LOG_FILE name on its own process’s current file, with only its lines, also after rotation', async (t) => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'replica-logs-')), 'logs', 'application');
    t.after(() => rm(path.dirname(path.dirname(dir)), { recursive: true, force: true }));
    const names = ['api-a', 'api-b'];
    // Started one after the other, as replicas are, and both running while the other starts and rotates.
    const writers: Writer[] = [];
    for (const name of names) writers.push(await startWriter(path.join(dir, `${name}.log`), name));
    t.after(() => {
      for (const child of writers) child.kill('SIGKILL');
    });

    for (const name of names) {
      const { target, writers: lineWriters } = await throughName(dir, name);
      assert.match(target, new RegExp(`^${name}\\.\\d{4}-\\d{2}-\\d{2}\\.\\d+\\.log$`), `${name}.log points at a file of its own`);
      assert.ok(lineWriters.length >= 2, `${name}.log shows its first lines`);
      assert.deepEqual([...new Set(lineWriters)], [name], `${name}.log shows only ${name}'s lines`);
    }

    // Both rotate at the same time.
    const exits = writers.map((child) => once(child, 'exit'));
    for (const child of writers) child.stdin.end();
    for (const [code] of await Promise.all(exits)) assert.equal(code, 0, 'the writer finished');

    const files = await readdir(dir);
    for (const name of names) {
      const own = files.filter((file) => file.startsWith(`${name}.`) && file !== `${name}.log`);
      assert.ok(own.length >= 2, `${name} rotated: ${own.join(', ')}`);
      const { target, writers: lineWriters, messages } = await throughName(dir, name);
      assert.ok(own.includes(target), `${name}.log points at one of ${name}'s files, not ${target}`);
      assert.deepEqual([...new Set(lineWriters)], [name], `${name}.log shows only ${name}'s lines after rotation`);
      assert.equal(messages.at(-1), 'after rotation', `${name}.log is on the file ${name} writes now`);
    }
    assert.ok(!files.includes('current.log'), 'no link shared between the processes');
  });
});
