import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * tfjs costs 0.5-1.2 s of start time to import and is needed only by a model on the tfjs path and by training (in
 * worker threads). The service and the job worker must therefore reach it through `import()` only, never through a
 * static import anywhere in what they load at start. Read from the compiled JavaScript, where `import type` is gone
 * and what remains is what Node loads.
 */

const TFJS = '@tensorflow/tfjs';

/** Static import and re-export specifiers of a compiled module (`import()` calls are not statements, so not counted). */
function staticImports(code: string): string[] {
  const source = ts.createSourceFile('module.js', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if ((ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifiers.push(statement.moduleSpecifier.text);
    }
  }
  return specifiers;
}

/** Every chain of static imports from `entry` to a module importing `target`, as file paths relative to dist/src. */
async function staticChainsTo(entry: string, target: string): Promise<{ modules: number; chains: string[] }> {
  const root = path.dirname(path.dirname(entry));
  const parent = new Map<string, string | undefined>([[entry, undefined]]);
  const queue = [entry];
  const chains: string[] = [];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const specifier of staticImports(await readFile(file, 'utf8'))) {
      if (specifier === target || specifier.startsWith(`${target}/`)) {
        const chain: string[] = [];
        for (let at: string | undefined = file; at !== undefined; at = parent.get(at)) chain.unshift(path.relative(root, at));
        chains.push(`${chain.join(' -> ')} -> ${specifier}`);
      } else if (specifier.startsWith('.')) {
        const imported = path.resolve(path.dirname(file), specifier);
        if (!parent.has(imported)) {
          parent.set(imported, file);
          queue.push(imported);
        }
      }
    }
  }
  return { modules: parent.size, chains };
}

const compiled = (relative: string): string => fileURLToPath(new URL(`../../src/${relative}`, import.meta.url));

describe('tfjs is imported on demand', () => {
  it('the chain finder sees a static tfjs import (the training module imports it)', async () => {
    const found = await staticChainsTo(compiled('ml/training/train.js'), TFJS);
    assert.ok(found.chains.length > 0, 'training reaches tfjs statically');
  });

  for (const entry of ['server/app.js', 'worker/worker-role.js']) {
    it(`nothing ${entry} loads at start imports tfjs statically`, async () => {
      const found = await staticChainsTo(compiled(entry), TFJS);
      assert.ok(found.modules > 50, `the module graph was read (${found.modules} modules)`);
      assert.deepEqual(found.chains, [], found.chains.join('\n'));
    });
  }
});

/**
 * The same for what only a scaled-out or PostgreSQL-backed service needs: Redis and BullMQ (REDIS_URL) and pg
 * (DATABASE_URL). A single process on its defaults (`npm start`) never loads them.
 */
describe('Redis, BullMQ and pg are imported on demand', () => {
  it('the chain finder sees the job worker import BullMQ and Redis statically (it always needs them)', async () => {
    for (const target of ['bullmq', 'ioredis']) assert.ok((await staticChainsTo(compiled('worker/worker-role.js'), target)).chains.length > 0, target);
  });

  for (const target of ['bullmq', 'ioredis', 'pg']) {
    it(`nothing server/app.js loads at start imports ${target} statically`, async () => {
      const found = await staticChainsTo(compiled('server/app.js'), target);
      assert.deepEqual(found.chains, [], found.chains.join('\n'));
    });
  }
});
