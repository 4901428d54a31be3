/**
 * CPU profiles of benchmarked servers (`npm run bench -- --profile DIR`): what a target that is not met spends
 * its time on. `profiling(label)` gives the node arguments and environment that load bench/profile-preload.js;
 * `capture` brackets a phase with the SIGUSR2 pair and waits for the file; `topFrames` summarizes a profile.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'profile-preload.js');

export interface Profiling {
  readonly nodeArgs: string[];
  readonly env: Record<string, string>;
  /** Where the n-th profile of this server is written. */
  file(n: number): string;
}

/** Undefined when the bench runs without --profile. */
export function profiling(dir: string | undefined, label: string, fromStart = false): Profiling | undefined {
  if (dir === undefined) return undefined;
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, label);
  return {
    nodeArgs: ['--import', PRELOAD],
    env: { BENCH_PROFILE_OUT: out, ...(fromStart ? { BENCH_PROFILE_FROM_START: '1' } : {}) },
    file: (n) => `${out}.${n}.cpuprofile`,
  };
}

async function waitForFile(file: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no profile written to ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // The file is written in one synchronous call; give the rename-free write a moment to finish on slow disks.
  await new Promise((resolve) => setTimeout(resolve, 200));
}

/** Stops a profile started at process start (BENCH_PROFILE_FROM_START) and waits for its file. */
export async function stopProfile(child: ChildProcess, file: string): Promise<string> {
  child.kill('SIGUSR2');
  await waitForFile(file);
  return file;
}

/** Profiles `phase` in `child` (started with `profiling(...)`), returning the profile's file. */
export async function capture<T>(child: ChildProcess, file: string, phase: () => Promise<T>): Promise<{ result: T; file: string }> {
  child.kill('SIGUSR2');
  // The preload starts the profiler asynchronously; a few ms keeps the phase's first requests in the profile.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const result = await phase();
  return { result, file: await stopProfile(child, file) };
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, '').replace(/^file:\/\//, '');
  return `${functionName || '(anonymous)'}${where ? ` ${where}:${lineNumber + 1}` : ''}`;
}

/**
 * The `count` frames with the most self time, and the `count` frames of the service's own code (dist/src) with the
 * most inclusive time, each with its share of the profiled wall time.
 */
export function topFrames(file: string, count = 10): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const timeById = new Map<number, number>();
  let total = 0;
  // The first and last samples span the profiler's own start and stop (the inspector call), not the phase.
  profile.samples.forEach((id, i) => {
    if (i === 0 || i === profile.samples.length - 1) return;
    const dt = profile.timeDeltas[i] ?? 0;
    timeById.set(id, (timeById.get(id) ?? 0) + dt);
    total += dt;
  });
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, time] of timeById) {
    const leaf = byId.get(id);
    if (!leaf) continue;
    self.set(frameName(leaf), (self.get(frameName(leaf)) ?? 0) + time);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (!node?.callFrame.url.includes('/dist/src/')) continue;
      const name = frameName(node);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + time);
    }
  }
  const ranked = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, time]) => `  ${(time / 1000).toFixed(0).padStart(6)} ms ${((100 * time) / total).toFixed(1).padStart(5)}%  ${name}`);
  return [
    `${path.basename(file)}: ${(total / 1000).toFixed(0)} ms profiled`,
    ' self time:',
    ...ranked(self),
    ' inclusive, service code (dist/src):',
    ...ranked(inclusive),
  ];
}
