import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The service's entry point compiled beside the tests (`node dist/src/main.js`). */
export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface ServiceProcess {
  readonly pid: number | undefined;
  /** Settles when the process exits, with everything it printed. */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** True until the process has exited. */
  running(): boolean;
  kill(signal: NodeJS.Signals): void;
  stdout(): string;
  stderr(): string;
}

export interface ServiceProcessOptions {
  /** Runs the service through `sh -c 'umask <mask>; exec node main.js'` (the file-mode drill). */
  readonly umask?: string;
}

/** Starts the real service (`node dist/src/main.js`) with only PATH and `env` in its environment. */
export function startServiceProcess(env: Record<string, string>, options: ServiceProcessOptions = {}): ServiceProcess {
  const fullEnv = { PATH: process.env['PATH'] ?? '', ...env };
  const child = options.umask === undefined
    ? spawn(process.execPath, [MAIN], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('/bin/sh', ['-c', `umask ${options.umask} && exec "$0" "$1"`, process.execPath, MAIN], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return {
    pid: child.pid,
    done,
    running: () => !exited,
    kill: (signal) => {
      if (!exited) child.kill(signal);
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined, or fails after `timeoutMs`
 * (a bounded loop: real processes on a loaded machine get generous limits, never a timed assertion).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Waits until GET `<base>/health/ready` answers 200; returns the milliseconds it took. */
export async function waitReady(base: string, service?: ServiceProcess, timeoutMs = 90_000): Promise<number> {
  const t0 = Date.now();
  const outcome = await waitFor('the service to be ready', async () => {
    if (service && !service.running()) return 'exited';
    return (await fetch(`${base}/health/ready`)).status === 200 ? 'ready' : undefined;
  }, timeoutMs);
  if (outcome === 'exited') throw new Error(`the service exited before it was ready:\n${service?.stderr() ?? ''}`);
  return Date.now() - t0;
}
