import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { repoRoot } from '../helpers/paths.js';

/**
 * Dependencies point one way between the folders of src/: a folder never imports, directly or through
 * other folders, from a folder that imports it. The unit is the top-level folder (`src/cache`,
 * `src/market`, ...); a file directly in src/ (`errors.ts`, `main.ts`) is a unit of its own. Imports are
 * read with the TypeScript pre-processor, so `import`, `export ... from`, `import type` and `import()`
 * all count.
 */

type Graph = Map<string, Map<string, string[]>>;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** `cache` for src/cache/**, `errors.ts` for src/errors.ts. */
function unitOf(srcDir: string, file: string): string {
  return path.relative(srcDir, file).split(path.sep)[0] ?? file;
}

/** Folder → imported folder → the `file -> import` lines that make the edge. */
async function folderGraph(srcDir: string): Promise<Graph> {
  const graph: Graph = new Map();
  for (const file of await sourceFiles(srcDir)) {
    const from = unitOf(srcDir, file);
    const edges = graph.get(from) ?? new Map<string, string[]>();
    graph.set(from, edges);
    for (const { fileName } of ts.preProcessFile(await readFile(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue; // packages and node: builtins
      const target = path.resolve(path.dirname(file), fileName);
      if (!target.startsWith(`${srcDir}${path.sep}`)) continue;
      const to = unitOf(srcDir, target);
      if (to === from) continue;
      edges.set(to, [...(edges.get(to) ?? []), `${path.relative(srcDir, file)} -> ${fileName}`]);
    }
  }
  return graph;
}

/** Strongly connected components with more than one folder (Tarjan): each is a cycle. */
function cycles(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node)?.keys() ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

function describeCycle(graph: Graph, members: readonly string[]): string {
  const lines = [];
  for (const from of members) {
    for (const [to, imports] of graph.get(from) ?? []) if (members.includes(to)) lines.push(`  ${from} -> ${to}: ${imports.join(', ')}`);
  }
  return `cycle between ${members.join(', ')}:\n${lines.join('\n')}`;
}

describe('folder dependencies of src/', () => {
  it('the cycle finder reports a two-folder and a three-folder cycle, and nothing in a layered graph', () => {
    const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges).map(([from, to]) => [from, new Map(to.map((t) => [t, []]))]));
    assert.deepEqual(cycles(graph({ cache: ['market'], market: ['cache', 'fs'], fs: [] })), [['cache', 'market']]);
    assert.deepEqual(cycles(graph({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] })), [['a', 'b', 'c']]);
    assert.deepEqual(cycles(graph({ server: ['market', 'cache', 'ml'], market: ['cache'], ml: ['market'], cache: [] })), []);
  });

  it('has no folder-level import cycle', async () => {
    const srcDir = path.join(repoRoot, 'src');
    const graph = await folderGraph(srcDir);
    assert.ok(graph.size >= 10 && (graph.get('server')?.size ?? 0) > 3, 'the import graph of src/ was read');
    const found = cycles(graph);
    assert.deepEqual(found, [], found.map((members) => describeCycle(graph, members)).join('\n'));
  });
});
