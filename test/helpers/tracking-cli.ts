import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

/** The compiled `npm run tracking` entry point. */
export const TRACKING_CLI = fileURLToPath(new URL('../../src/cli/tracking.js', import.meta.url));

/** Runs the tracking CLI as its own process with only PATH, HOME and `env`; resolves with its exit code and output. */
export function runTrackingCli(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TRACKING_CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), TFJS_BACKEND: 'wasm', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}
