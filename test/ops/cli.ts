import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../helpers/paths.js';

/** The ops CLI compiled beside this test (dist/ in CI, a private outDir during development). */
export const opsCli = fileURLToPath(new URL('../../src/cli/ops.js', import.meta.url));

/** True when every directory above `file` lets any user search it. */
async function searchableByAll(file: string): Promise<boolean> {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

let staged: Promise<string> | undefined;

/**
 * Where another uid can reach a file of this checkout. Tests that drop privileges (as root) run the
 * checkout's scripts and ops CLI as uid 65534 or 1001, which cannot enter a checkout inside a private
 * directory (`mktemp -d`, a 0700 home). Such a checkout is staged once per test process into a
 * world-searchable temp directory: hard links of every top-level entry but .git (a copy across file
 * systems), so the staged files are the same files.
 */
export async function reachableByOthers(file: string): Promise<string> {
  if (await searchableByAll(repoRoot)) return file;
  staged ??= (async () => {
    const stage = await mkdtemp(path.join(tmpdir(), 'checkout-for-other-users-'));
    process.once('exit', () => rmSync(stage, { recursive: true, force: true }));
    await chmod(stage, 0o755);
    const entries = (await readdir(repoRoot)).filter((name) => name !== '.git').map((name) => path.join(repoRoot, name));
    let copy = await run('cp', ['-al', ...entries, stage]);
    if (copy.code !== 0) copy = await run('cp', ['-a', ...entries, stage]);
    if (copy.code !== 0) throw new Error(`cannot stage the checkout for other users: ${copy.stderr}`);
    return stage;
  })();
  return path.join(await staged, path.relative(repoRoot, file));
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command with stdin closed (not a terminal), as cron or CI would, or fed with `input`. Run as
 * another `uid`, scripts find the ops CLI where that user can reach it (see reachableByOthers).
 */
export async function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number; cwd?: string; input?: string } = {}): Promise<RunResult> {
  const cli = options.uid === undefined || options.uid === process.getuid?.() ? opsCli : await reachableByOthers(opsCli);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, STOCK_PREDICTION_OPS_CLI: cli, ...options.env },
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    if (options.input !== undefined) child.stdin?.end(options.input);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export function runOps(args: readonly string[], options: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [opsCli, ...args], options);
}
