import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

export interface RedisServerHandle {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** SIGKILL, as a crash would: no shutdown, connections simply drop. */
  kill(): Promise<void>;
  /** Starts a fresh server on the same port (after `kill()`), resolving once it answers PING. */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections open but answers nothing (a frozen host, a stuck disk). */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
  /** Stops the server and removes its temporary folder. */
  stop(): Promise<void>;
}

const BINARY = 'redis-server';

/**
 * Starts a throw-away `redis-server` on a free loopback port, with no persistence, in a temp
 * folder, and resolves once it answers PING. A missing binary is an error, never a skip:
 * install Debian's `redis-server` package.
 */
export async function startRedisServer(): Promise<RedisServerHandle> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'redis-test-'));
  let child: ChildProcess | undefined = await launch(port, dir);

  const kill = async (): Promise<void> => {
    if (child === undefined) return;
    const exiting = exited(child);
    child.kill('SIGKILL');
    await exiting;
    child = undefined;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    async restart() {
      await kill();
      child = await launch(port, dir);
    },
    async stop() {
      if (child !== undefined) {
        const exiting = exited(child);
        // A frozen server would not act on SIGTERM until thawed.
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        await exiting;
        child = undefined;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new Error(`${BINARY} not found on PATH: install Debian's redis-server package (apt-get install redis-server); these tests never skip`)
          : error,
      );
    });
    child.once('exit', (code) => reject(new Error(`${BINARY} exited with code ${code} before answering PING:\n${output}`)));
  });
  failed.catch(() => undefined);
  await Promise.race([failed, waitForPing(port, 10_000)]);
  child.removeAllListeners('exit');
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${BINARY} on port ${port} did not answer PING within ${timeoutMs} ms`);
}

/** One PING over a raw socket: no client library involved in deciding that the server is up. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}
