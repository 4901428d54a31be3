import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';
import { repoRoot } from './paths.js';

export interface NginxHandle {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Its access.log and error.log (upstream failures and retries are logged there as warnings). */
  readonly logDir: string;
  /** The master process (its workers are its children). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('nginx is not installed (Debian: apt-get install nginx; scripts/install-test-deps.sh does it)');
  }
}

/** Replaces `from` with `to`, failing loudly when the shipped config no longer has that line. */
function substitute(config: string, from: string, to: string): string {
  if (!config.includes(from)) throw new Error(`docker/nginx/default.conf no longer contains "${from}"`);
  return config.split(from).join(to);
}

/** The shipped upstream line: one DNS name standing for every replica, re-resolved (`resolve`), with its passive health parameters. */
const UPSTREAM_SERVER = /^(\s*)server stock-prediction:8081 resolve( [^;]*)?;$/m;

/**
 * The shipped upstream with one `server` line per loopback port, each keeping the shipped parameters (max_fails,
 * fail_timeout). `resolve` goes: it re-resolves a DNS name (Docker's), and a loopback address has none — and
 * Debian's nginx (1.22) predates it.
 */
function upstreamFor(config: string, ports: readonly number[]): string {
  const match = UPSTREAM_SERVER.exec(config);
  if (!match) throw new Error('docker/nginx/default.conf no longer has the line "server stock-prediction:8081 resolve ...;"');
  const [line, indent = '', parameters = ''] = match;
  return config.replace(line, ports.map((port) => `${indent}server 127.0.0.1:${port}${parameters};`).join('\n'));
}

/**
 * Starts Debian's nginx with the repository's docker/nginx/default.conf — unchanged except for where things
 * live: the upstream is the replicas on `upstreamPorts` (one port: the single-process stack), it listens on a free
 * loopback port, and its cache, logs and document root are in a temp folder. Resolves once it accepts connections.
 */
export interface NginxOptions {
  /**
   * false drops the shipped per-client `limit_req` (20 r/s per address): a benchmark's one load generator would
   * measure that limit instead of the replicas. Tests keep it (default true).
   */
  readonly clientRateLimit?: boolean;
}

export async function startNginx(upstreamPorts: number | readonly number[], options: NginxOptions = {}): Promise<NginxHandle> {
  const binary = nginxBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'nginx-test-'));
  for (const sub of ['cache', 'logs', 'html', 'temp']) await mkdir(path.join(dir, sub));
  const port = await freePort();
  let site = await readFile(path.join(repoRoot, 'docker', 'nginx', 'default.conf'), 'utf8');
  site = upstreamFor(site, typeof upstreamPorts === 'number' ? [upstreamPorts] : upstreamPorts);
  site = substitute(site, 'listen 8080;', `listen 127.0.0.1:${port};`);
  if (options.clientRateLimit === false) site = substitute(site, 'limit_req zone=api_rate burst=40 nodelay;', '');
  site = substitute(site, '/var/cache/nginx', path.join(dir, 'cache'));
  site = substitute(site, '/var/log/nginx', path.join(dir, 'logs'));
  site = substitute(site, 'root /usr/share/nginx/html;', `root ${path.join(dir, 'html')};`);
  const temp = path.join(dir, 'temp');
  const main = [
    // Workers of a root master would switch to "nobody", who cannot enter the 0700 temp folder.
    process.getuid?.() === 0 ? 'user root;' : '',
    'daemon off;',
    'worker_processes 1;',
    `pid ${path.join(dir, 'nginx.pid')};`,
    `error_log ${path.join(dir, 'logs', 'error.log')} warn;`,
    'events { worker_connections 256; }',
    'http {',
    '  include /etc/nginx/mime.types;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${path.join(temp, kind)};`),
    site,
    '}',
  ].join('\n');
  const conf = path.join(dir, 'nginx.conf');
  await writeFile(conf, main);
  const child: ChildProcess = spawn(binary, ['-p', dir, '-c', conf, '-e', path.join(dir, 'logs', 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    logDir: path.join(dir, 'logs'),
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
