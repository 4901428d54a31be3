import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleDir } from '../helpers/paths.js';

/** The compiled models CLI. */
export const MODELS_CLI = fileURLToPath(new URL('../../src/cli/models.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the compiled models CLI as a child process, as `npm run models --` does, without a terminal. */
export function runCli(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return runCommand(process.execPath, [MODELS_CLI, ...args], env);
}

/** Runs a command without a terminal and collects its output; its environment is PATH, HOME and `env` only. */
export function runCommand(command: string, args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // Only what the command needs: TRAIN_*, TFJS_BACKEND and friends from the caller's shell must not leak in.
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A fresh PERSISTENT_DATA_PATH holding the sample CSVs of `symbols` only. */
export async function dataRoot(symbols: readonly string[]): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'models-cli-'));
  const historical = path.join(root, 'stock_data', 'historical');
  await mkdir(historical, { recursive: true });
  for (const s of symbols) await copyFile(path.join(sampleDir, `${s}.csv`), path.join(historical, `${s}.csv`));
  return root;
}

/** CI-sized training: seconds per model. */
export const TINY = ['--epochs', '2', '--units', '8', '--max-bars', '400'];
