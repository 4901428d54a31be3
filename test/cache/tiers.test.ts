import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fsPromises, { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileCacheTier } from '../../src/cache/file-tier.js';
import { MemoryCacheTier } from '../../src/cache/memory-tier.js';
import { createSingleFlight } from '../../src/cache/single-flight.js';
import { TieredCache } from '../../src/cache/tiered-cache.js';
import type { CacheTier } from '../../src/cache/tier.js';

/** A clock the test moves by hand, so TTLs are tested without sleeping. */
function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

let root: string;
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cache-tiers-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('MemoryCacheTier', () => {
  it('holds at most maxEntries, evicting the least recently used', async () => {
    const memory = new MemoryCacheTier<number>({ maxEntries: 3, ttlSeconds: 60 });
    for (const [key, value] of [['a', 1], ['b', 2], ['c', 3]] as const) await memory.set(key, value);
    assert.equal((await memory.get('a'))?.value, 1); // a is now the most recent
    await memory.set('d', 4);
    assert.equal(await memory.size(), 3);
    assert.equal(await memory.get('b'), undefined, 'b was least recently used');
    assert.deepEqual(await Promise.all(['a', 'c', 'd'].map(async (key) => (await memory.get(key))?.value)), [1, 3, 4]);
    for (let index = 0; index < 100; index += 1) await memory.set(`k${index}`, index);
    assert.equal(await memory.size(), 3);
    assert.deepEqual(memory.counters(), { hits: 4, misses: 1 });
  });

  it('expires entries after their TTL and honours a per-entry TTL', async () => {
    const clock = manualClock();
    const memory = new MemoryCacheTier<string>({ maxEntries: 10, ttlSeconds: 10, now: clock.now });
    await memory.set('default', 'x');
    await memory.set('short', 'y', 1000);
    clock.advance(1500);
    assert.equal(await memory.get('short'), undefined);
    assert.equal((await memory.get('default'))?.value, 'x');
    clock.advance(9000);
    assert.equal(await memory.get('default'), undefined);
  });
});

describe('FileCacheTier', () => {
  it('survives a new instance on the same folder (a restart), one hashed JSON file per key', async () => {
    const directory = path.join(root, 'restart');
    const first = new FileCacheTier<{ price: number }>({ directory, ttlSeconds: 60, maxEntries: 100 });
    await first.set('prediction:NVDA:v1:2025-10-08:5', { price: 190.5 });
    await first.set('prediction:NVDA:v1:2025-10-08:1', { price: 188 });
    const files = await readdir(directory);
    assert.equal(files.length, 2, `only entry files, no temporaries: ${files.join(', ')}`);
    for (const name of files) assert.match(name, /^[0-9a-f]{64}\.json$/);

    const second = new FileCacheTier<{ price: number }>({ directory, ttlSeconds: 60, maxEntries: 100 });
    assert.deepEqual((await second.get('prediction:NVDA:v1:2025-10-08:5'))?.value, { price: 190.5 });
    assert.equal(await second.size(), 2);
    await second.delete('prediction:NVDA:v1:2025-10-08:5');
    assert.equal(await second.get('prediction:NVDA:v1:2025-10-08:5'), undefined);
    await second.clear();
    assert.deepEqual(await readdir(directory), []);
  });

  it('checks the TTL on read and deletes expired files', async () => {
    const directory = path.join(root, 'ttl');
    const clock = manualClock();
    const file = new FileCacheTier<string>({ directory, ttlSeconds: 5, maxEntries: 10, now: clock.now });
    await file.set('k', 'v');
    clock.advance(4000);
    assert.equal((await file.get('k'))?.value, 'v');
    clock.advance(2000);
    assert.equal(await file.get('k'), undefined);
    assert.deepEqual(await readdir(directory), []);
    assert.deepEqual(file.counters(), { hits: 1, misses: 1 });
  });

  it('evicts the oldest entries beyond maxEntries, also across a restart', async () => {
    const directory = path.join(root, 'bounded');
    const clock = manualClock();
    const first = new FileCacheTier<number>({ directory, ttlSeconds: 600, maxEntries: 5, now: clock.now });
    for (let index = 0; index < 5; index += 1) {
      await first.set(`k${index}`, index);
      // File times are coarse (a few ms); give each entry its own write time, as minutes apart would.
      const written = new Date(Date.now() - (10 - index) * 60_000);
      await utimes(path.join(directory, `${createHash('sha256').update(`k${index}`).digest('hex')}.json`), written, written);
    }
    const second = new FileCacheTier<number>({ directory, ttlSeconds: 600, maxEntries: 5, now: clock.now });
    await second.set('k5', 5);
    await second.set('k6', 6);
    assert.equal((await readdir(directory)).length, 5);
    assert.equal(await second.get('k0'), undefined);
    assert.equal(await second.get('k1'), undefined);
    for (const index of [2, 3, 4, 5, 6]) assert.equal((await second.get(`k${index}`))?.value, index);
  });

  it('treats a corrupt file as a miss and removes it', async () => {
    const directory = path.join(root, 'corrupt');
    const file = new FileCacheTier<string>({ directory, ttlSeconds: 60, maxEntries: 10 });
    await file.set('k', 'v');
    const [name] = await readdir(directory);
    assert.ok(name);
    await writeFile(path.join(directory, name), '{"key":"k","expiresAt":');
    assert.equal(await file.get('k'), undefined);
    assert.deepEqual(await readdir(directory), []);
    assert.equal(file.status().up, true);
  });

  it('reports a folder it cannot write as down and answers misses instead of throwing', async () => {
    const blocker = path.join(root, 'not-a-dir');
    await writeFile(blocker, 'a file where the cache folder should be');
    const errors: Error[] = [];
    const file = new FileCacheTier<string>({ directory: path.join(blocker, 'cache'), ttlSeconds: 60, maxEntries: 10, onError: (error) => errors.push(error) });
    await file.set('k', 'v');
    assert.equal(await file.get('k'), undefined);
    assert.equal(file.status().up, false);
    assert.match(file.status().detail ?? '', /ENOTDIR|EEXIST/);
    assert.ok(errors.length > 0);
  });
});

/** Another process on the same folder (a replica): runs `body` with `tier`, a FileCacheTier<string> on `directory`. */
function otherProcess(directory: string, body: string): { done: Promise<number | null>; kill: () => void } {
  const module = fileURLToPath(new URL('../../src/cache/file-tier.js', import.meta.url));
  const script = `const { FileCacheTier } = await import(${JSON.stringify(module)});
const tier = new FileCacheTier({ directory: ${JSON.stringify(directory)}, ttlSeconds: 600, maxEntries: 100000, writeBehindMs: 5 });
${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { done, kill: () => child.kill('SIGKILL') };
}

const entryNames = async (directory: string): Promise<string[]> => (await readdir(directory)).filter((name) => /^[0-9a-f]{64}\.json$/.test(name));

describe('FileCacheTier index and write-behind', () => {
  it('answers a miss from its index without any file-system call, once the index is built', async (t) => {
    const directory = path.join(root, 'no-syscall');
    const file = new FileCacheTier<string>({ directory, ttlSeconds: 60, maxEntries: 10 });
    await file.set('present', 'v');
    assert.equal(await file.size(), 1, 'the index is built');
    const calls: string[] = [];
    for (const name of ['readFile', 'open', 'stat', 'lstat', 'access', 'readdir'] as const) {
      const original = fsPromises[name] as (...args: unknown[]) => unknown;
      mock.method(fsPromises, name, (...args: unknown[]) => {
        calls.push(`${name} ${String(args[0])}`);
        return original(...args);
      });
    }
    syncBuiltinESMExports();
    t.after(() => {
      mock.restoreAll();
      syncBuiltinESMExports();
    });
    for (let index = 0; index < 20; index += 1) assert.equal(await file.get(`absent-${index}`), undefined);
    assert.deepEqual(calls, [], '20 misses touched the disk');
    assert.equal((await file.get('present'))?.value, 'v');
    assert.equal(calls.length, 1, `a hit reads its file once: ${calls.join(', ')}`);
    assert.deepEqual(file.counters(), { hits: 1, misses: 20 });
    await file.close();
  });

  it('serves an entry another process wrote once its rescan ran, and drops one another process deleted', async () => {
    const directory = path.join(root, 'shared');
    const file = new FileCacheTier<string>({ directory, ttlSeconds: 60, maxEntries: 100, rescanMs: 50 });
    await file.set('mine', 'a');
    assert.equal(await file.get('theirs'), undefined, 'not written yet');
    const other = otherProcess(directory, `await tier.set('theirs', 'from another process'); await tier.delete('mine'); await tier.close();`);
    assert.equal(await other.done, 0);
    const deadline = Date.now() + 5000;
    let served = await file.get('theirs');
    while (served === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      served = await file.get('theirs');
    }
    assert.equal(served?.value, 'from another process');
    assert.equal(await file.get('mine'), undefined, 'deleted by the other process');
    assert.equal(await file.size(), 1);
    await file.close();
  });

  it('writes behind: set resolves before the file exists, reads are answered meanwhile, and close writes everything', async () => {
    const directory = path.join(root, 'write-behind');
    const file = new FileCacheTier<number>({ directory, ttlSeconds: 60, maxEntries: 1000, writeBehindMs: 60_000 });
    for (let index = 0; index < 50; index += 1) await file.set(`k${index}`, index);
    await file.set('k0', 1000);
    assert.equal((await file.get('k7'))?.value, 7, 'answered from the queue');
    assert.equal(await file.size(), 50);
    assert.deepEqual(await entryNames(directory), [], 'nothing written yet: the writes wait behind');
    await file.close();
    assert.equal((await entryNames(directory)).length, 50, 'close wrote every queued entry, k0 once');
    const restarted = new FileCacheTier<number>({ directory, ttlSeconds: 60, maxEntries: 1000 });
    assert.equal((await restarted.get('k0'))?.value, 1000, 'the last value set wins');
    for (let index = 1; index < 50; index += 1) assert.equal((await restarted.get(`k${index}`))?.value, index);
    await restarted.clear();
  });

  it('a clear drops queued writes and is not undone by a write in progress; TieredCache.close writes what the tier queued', async () => {
    const directory = path.join(root, 'clear-queued');
    const file = new FileCacheTier<string>({ directory, ttlSeconds: 60, maxEntries: 100, writeBehindMs: 1 });
    const cache = new TieredCache<string>({ tiers: [new MemoryCacheTier({ maxEntries: 10, ttlSeconds: 60 }), file] });
    await cache.set('a', 'x');
    await new Promise((resolve) => setTimeout(resolve, 2));
    await cache.set('b', 'y');
    await cache.clear();
    assert.deepEqual(await entryNames(directory), []);
    assert.equal(await file.get('a'), undefined);
    await cache.set('c', 'z');
    await cache.close();
    assert.equal((await entryNames(directory)).length, 1);
    assert.equal((await new FileCacheTier<string>({ directory, ttlSeconds: 60, maxEntries: 100 }).get('c'))?.value, 'z');
  });

  it('a process killed while writing leaves only whole entry files', async () => {
    const directory = path.join(root, 'killed');
    const writer = otherProcess(
      directory,
      `const big = 'x'.repeat(256 * 1024);
for (let index = 0; ; index += 1) {
  await tier.set('entry-' + index, big + index);
  if (index % 8 === 7) await tier.flush();
}`,
    );
    const deadline = Date.now() + 10_000;
    while ((await entryNames(directory).catch(() => [])).length < 20 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    writer.kill();
    await writer.done;
    const names = await entryNames(directory);
    assert.ok(names.length >= 20, `the writer wrote entries before it was killed (${names.length})`);
    for (const name of names) {
      const stored = JSON.parse(await readFile(path.join(directory, name), 'utf8')) as { key: string; value: string };
      assert.equal(name, `${createHash('sha256').update(stored.key).digest('hex')}.json`);
      assert.equal(stored.value, `${'x'.repeat(256 * 1024)}${stored.key.slice('entry-'.length)}`, `${name} is whole`);
    }
    const reader = new FileCacheTier<string>({ directory, ttlSeconds: 600, maxEntries: 100_000 });
    assert.equal(await reader.size(), names.length, 'temporary files are not entries');
    await reader.close();
  });
});

describe('single-flight', () => {
  it('runs 20 concurrent identical computations once, and forgets failures', async () => {
    const singleFlight = createSingleFlight();
    let runs = 0;
    const compute = async (): Promise<number> => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 42;
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => singleFlight('k', compute)));
    assert.deepEqual(results, Array(20).fill(42));
    assert.equal(runs, 1);
    // Different keys do not share.
    await Promise.all([singleFlight('a', compute), singleFlight('b', compute)]);
    assert.equal(runs, 3);

    let attempts = 0;
    const failing = async (): Promise<number> => {
      attempts += 1;
      throw new Error('model failed');
    };
    const failures = await Promise.allSettled(Array.from({ length: 5 }, () => singleFlight('f', failing)));
    assert.ok(failures.every((result) => result.status === 'rejected'));
    assert.equal(attempts, 1);
    await assert.rejects(singleFlight('f', failing));
    assert.equal(attempts, 2, 'a settled failure is not remembered');
  });
});

describe('TieredCache (memory + file)', () => {
  it('computes once for 20 concurrent requests, then answers from memory, then from file after a restart', async () => {
    const directory = path.join(root, 'tiered');
    const build = (): TieredCache<{ value: number }> =>
      new TieredCache({
        tiers: [new MemoryCacheTier({ maxEntries: 100, ttlSeconds: 60 }), new FileCacheTier({ directory, ttlSeconds: 60, maxEntries: 100 })],
      });
    const cache = build();
    let computations = 0;
    const compute = async (): Promise<{ value: number }> => {
      computations += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { value: 7 };
    };
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.getOrCompute('p', compute)));
    assert.equal(computations, 1);
    assert.ok(answers.every((answer) => answer.value.value === 7 && answer.tier === undefined));
    assert.equal((await cache.getOrCompute('p', compute)).tier, 'memory');

    // A graceful stop finishes the background writes to the file tier.
    await cache.close();
    const restarted = build();
    assert.deepEqual(await restarted.getOrCompute('p', compute), { value: { value: 7 }, tier: 'file' });
    assert.equal((await restarted.get('p'))?.tier, 'memory', 'the file hit back-filled memory');
    assert.equal(computations, 1);

    const report = await restarted.report();
    assert.deepEqual(
      report.map((tier) => [tier.name, tier.up, tier.hits, tier.misses, tier.size]),
      [
        ['memory', true, 1, 1, 1],
        ['file', true, 1, 0, 1],
      ],
    );
    assert.deepEqual(restarted.status(), { degraded: false, tiers: { memory: { up: true }, file: { up: true } } });
    await restarted.clear();
    assert.equal(await restarted.get('p'), undefined);
    const stored = await readdir(directory);
    assert.deepEqual(stored, []);
  });

  it('answers once the fastest tier holds a value; a slow tier is written in the background, and clear waits for it', async () => {
    let release: () => void = () => undefined;
    const stored = new Map<string, string>();
    const slow: CacheTier<string> = {
      name: 'slow',
      get: async (key) => (stored.has(key) ? { value: stored.get(key) as string, expiresAt: Number.MAX_SAFE_INTEGER } : undefined),
      set: (key, value) =>
        new Promise<void>((resolve) => {
          release = () => {
            stored.set(key, value);
            resolve();
          };
        }),
      delete: async (key) => {
        stored.delete(key);
      },
      clear: async () => stored.clear(),
      size: async () => stored.size,
      status: () => ({ up: true }),
      counters: () => ({ hits: 0, misses: 0 }),
      close: async () => undefined,
    };
    const cache = new TieredCache<string>({ tiers: [new MemoryCacheTier({ maxEntries: 10, ttlSeconds: 60 }), slow] });
    await cache.set('k', 'v');
    assert.equal((await cache.get('k'))?.tier, 'memory', 'served before the slow tier finished');
    assert.equal(stored.size, 0);
    let cleared = false;
    const clearing = cache.clear().then(() => {
      cleared = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(cleared, false, 'clear waits for the pending write');
    release();
    await clearing;
    assert.equal(stored.size, 0, 'the late write did not survive the clear');
    assert.equal(await cache.get('k'), undefined);
  });

  it('back-fills with the remaining TTL, not a fresh one', async () => {
    const clock = manualClock();
    const memory = new MemoryCacheTier<string>({ maxEntries: 10, ttlSeconds: 60, now: clock.now });
    const file = new FileCacheTier<string>({ directory: path.join(root, 'remaining'), ttlSeconds: 60, maxEntries: 10, now: clock.now });
    await file.set('k', 'v');
    clock.advance(50_000);
    const cache = new TieredCache({ tiers: [memory, file], now: clock.now });
    assert.equal((await cache.get('k'))?.tier, 'file');
    clock.advance(11_000);
    assert.equal(await cache.get('k'), undefined, 'the back-filled copy expired with the original');
    const leftovers = await readFile(path.join(root, 'remaining', (await readdir(path.join(root, 'remaining')))[0] ?? 'none')).catch(() => undefined);
    assert.equal(leftovers, undefined, 'the expired file was removed');
  });
});
