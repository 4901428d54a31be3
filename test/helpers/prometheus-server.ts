import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
}

export interface QueryResult {
  readonly resultType: string;
  readonly result: PromSample[] | [number, string];
}

export interface RuleInfo {
  readonly name: string;
  readonly query: string;
  readonly type: 'alerting' | 'recording';
  readonly health: string;
  readonly lastError?: string;
}

export interface PrometheusHandle {
  readonly port: number;
  readonly url: string;
  /** Instant query; throws with Prometheus' error message when the query is rejected. */
  query(expr: string): Promise<QueryResult>;
  /** Every rule Prometheus loaded from the rule files, as it parsed them. */
  rules(): Promise<RuleInfo[]>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** The config file text, given the port Prometheus will listen on (for its self-scrape). */
  readonly config: (port: number, dir: string) => string;
  /** Folders copied beside the config (e.g. the rules/ folder it references relatively). */
  readonly copy?: readonly { readonly from: string; readonly to: string }[];
}

const BINARY = 'prometheus';

/**
 * A real Prometheus (Debian's `prometheus` package) on a free loopback port, with its TSDB in a
 * temp folder. A missing binary is an error, never a skip.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusHandle> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'prometheus-test-'));
  for (const item of options.copy ?? []) await cp(item.from, path.join(dir, item.to), { recursive: true });
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, options.config(port, dir));
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(BINARY, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT'
      ? new Error(`${BINARY} not found on PATH: install Debian's prometheus package (scripts/install-test-deps.sh); these tests never skip`)
      : error));
    child.once('exit', (code) => reject(new Error(`${BINARY} exited with code ${code} before it was ready:\n${output}`)));
  });
  failed.catch(() => undefined);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([failed, waitReady(url, 20_000)]);
  } catch (error) {
    await stop();
    throw error;
  }
  child.removeAllListeners('exit');

  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const response = await fetch(`${url}${pathAndQuery}`);
    const body = (await response.json()) as { status: string; data?: T; error?: string; errorType?: string };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`Prometheus ${pathAndQuery}: ${body.errorType ?? ''} ${body.error ?? `HTTP ${response.status}`}`);
    return body.data;
  };
  return {
    port,
    url,
    query: (expr) => api<QueryResult>(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    async rules() {
      const data = await api<{ groups: { rules: RuleInfo[] }[] }>('/api/v1/rules');
      return data.groups.flatMap((group) => group.rules);
    },
    stop,
  };
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Prometheus at ${url} was not ready within ${timeoutMs} ms`);
}
