import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/env.js';
import { parseEnvFile } from '../../src/ops/templates.js';
import { repoRoot, seedVolumeMountsFile } from '../helpers/paths.js';
import { run, runOps } from './cli.js';

/**
 * The deployment files, validated by the real tools (docker-compose config, promtool) and
 * against the seed document's list of volume mounts (kept as data in test/fixtures). No Docker engine is needed.
 */
const composeFile = path.join(repoRoot, 'docker-compose-persistent.yml');
let project = '';
let envFile = '';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  volumes?: (string | { type: string; source: string; target: string; read_only?: boolean })[];
  ports?: unknown[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string | null>;
  command?: string[] | string;
  user?: string;
  container_name?: string;
  expose?: string[];
  stop_grace_period?: string;
  networks?: Record<string, { aliases?: string[] } | null>;
}

before(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'ops-compose-'));
  envFile = path.join(project, '.env');
  const setup = await runOps(['setup', '--data', path.join(project, 'persistent_data'), '--no-chown', '--compose-env', envFile]);
  assert.equal(setup.code, 0, setup.stderr);
});

after(async () => {
  await rm(project, { recursive: true, force: true });
});

/** `docker-compose config` (the Debian package) resolves and validates the file; python3-yaml (its dependency) turns the result into JSON. */
interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { ipam?: { config?: { subnet: string }[] } }>;
}

async function composeConfig(env: string, file = composeFile): Promise<ComposeConfig> {
  const config = await run('docker-compose', ['--env-file', env, '-f', file, 'config']);
  assert.equal(config.code, 0, `docker-compose config failed:\n${config.stderr}`);
  const yamlFile = path.join(project, 'resolved.yml');
  await writeFile(yamlFile, config.stdout);
  const json = await run('python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', yamlFile]);
  assert.equal(json.code, 0, json.stderr);
  return JSON.parse(json.stdout) as ComposeConfig;
}

/** The seed's "Mandatory Volume Mounts", per service, as `./persistent_data/...:<target>[:ro]`. */
async function seedMounts(): Promise<Record<string, string[]>> {
  const { services } = JSON.parse(await readFile(seedVolumeMountsFile, 'utf8')) as { services: Record<string, string[]> };
  assert.equal(Object.keys(services).length, 5, 'the seed lists mounts for five services');
  return services;
}

function mountString(volume: NonNullable<ComposeService['volumes']>[number]): string {
  if (typeof volume === 'string') return volume.replace(/:rw$/, '');
  return `${volume.source}:${volume.target}${volume.read_only ? ':ro' : ''}`;
}

test('docker-compose config accepts the stack with the .env setup wrote, and every mount is exactly the seed\'s, under ./persistent_data', async () => {
  const config = await composeConfig(envFile);
  const seed = await seedMounts();
  assert.deepEqual(Object.keys(config.services).sort(), ['frontend', 'grafana', 'prometheus', 'redis', 'stock-prediction', 'worker']);
  // The job worker (not in the seed, which had no queue) mounts what the service mounts.
  seed.worker = seed['stock-prediction'] ?? [];
  const dataDir = path.join(repoRoot, 'persistent_data');
  for (const [name, service] of Object.entries(config.services)) {
    const mounts = (service.volumes ?? []).map(mountString);
    for (const mount of mounts) {
      const source = mount.split(':')[0] ?? '';
      assert.ok(source === dataDir || source.startsWith(`${dataDir}/`), `${name}: ${mount} is under ./persistent_data`);
    }
    const relative = mounts.map((m) => m.replace(dataDir, './persistent_data')).sort();
    assert.deepEqual(relative, [...(seed[name] ?? [])].sort(), `${name} mounts exactly the seed's list`);
  }
});

test('the stack has healthchecks, waits for healthy dependencies, publishes no Redis, and keeps the Prometheus admin API off', async () => {
  const { services } = await composeConfig(envFile);
  for (const [name, service] of Object.entries(services)) {
    assert.ok(service.healthcheck?.test, `${name} has a healthcheck`);
    for (const [dependency, spec] of Object.entries(service.depends_on ?? {})) {
      assert.equal(spec.condition, 'service_healthy', `${name} waits for ${dependency} to be healthy`);
    }
    assert.ok(service.user, `${name} runs as a configured uid`);
  }
  assert.deepEqual(Object.keys(services['stock-prediction']?.depends_on ?? {}), ['redis']);
  // With REDIS_URL training jobs go on the queue: without a worker of the same image they would wait for good.
  const { worker } = services;
  assert.equal(worker?.environment?.ROLE, 'worker');
  assert.equal(worker?.image, services['stock-prediction']?.image);
  assert.deepEqual(Object.keys(worker?.depends_on ?? {}), ['redis']);
  assert.equal(worker?.ports, undefined);
  for (const variable of ['PERSISTENT_DATA_PATH', 'REDIS_URL', 'API_KEYS', 'DATA_SOURCE']) {
    assert.ok(worker?.environment?.[variable], `worker has ${variable}`);
    assert.equal(worker?.environment?.[variable], services['stock-prediction']?.environment?.[variable], `worker and service share ${variable}`);
  }
  assert.notEqual(worker?.environment?.LOG_FILE, services['stock-prediction']?.environment?.LOG_FILE, 'each writes its own log file');
  assert.deepEqual(Object.keys(services.frontend?.depends_on ?? {}), ['stock-prediction']);
  assert.deepEqual(Object.keys(services.grafana?.depends_on ?? {}), ['prometheus']);
  assert.equal(services.redis?.ports, undefined, 'Redis is not published to the host');
  const promCommand = JSON.stringify(services.prometheus?.command ?? '');
  assert.doesNotMatch(promCommand, /enable-admin-api|enable-lifecycle/);
  assert.match(String(services['stock-prediction']?.healthcheck?.test), /\/health\/ready/);
  assert.equal(services.frontend?.build?.target, 'frontend', 'nginx serves the web build of the same Dockerfile');
});

test('no default passwords: secrets come from .env, and without them compose refuses', async () => {
  const env = parseEnvFile(await readFile(envFile, 'utf8'));
  const { services } = await composeConfig(envFile);
  assert.equal(services.grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD, env.get('GRAFANA_ADMIN_PASSWORD'));
  assert.equal(services['stock-prediction']?.environment?.REDIS_URL, `redis://:${env.get('REDIS_PASSWORD')}@redis:6379/0`);
  const emptyEnv = path.join(project, 'empty.env');
  await writeFile(emptyEnv, '# nothing\n');
  const refused = await run('docker-compose', ['--env-file', emptyEnv, '-f', composeFile, 'config']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /setup_persistent_data\.sh/);
  const example = await run('docker-compose', ['--env-file', path.join(repoRoot, '.env.example'), '-f', composeFile, 'config']);
  assert.notEqual(example.code, 0, '.env.example has no usable passwords');
});

test('the Dockerfile builds in stages, runs as a non-root user with a readiness HEALTHCHECK, and ships production dependencies only', async () => {
  const dockerfile = await readFile(path.join(repoRoot, 'docker', 'Dockerfile'), 'utf8');
  const stages = dockerfile.split(/^FROM /m).slice(1).map((body) => ({ name: /\bAS (\S+)/.exec(body.split('\n')[0] ?? '')?.[1] ?? '', body }));
  assert.ok(stages.length >= 3, 'multi-stage');
  assert.equal(stages.at(-1)?.name, 'runtime', 'the service image is the default (last) target');
  for (const name of ['runtime', 'frontend']) {
    const stage = stages.find((s) => s.name === name);
    assert.ok(stage, `stage ${name}`);
    const users = [...stage.body.matchAll(/^USER (\S+)/gm)].map((m) => m[1] ?? '');
    assert.ok(users.length > 0 && !/^(0|root)(:|$)/.test(users.at(-1) ?? ''), `${name} runs as a non-root USER (${users.join(',')})`);
    assert.match(stage.body, /^HEALTHCHECK /m, `${name} has a HEALTHCHECK`);
  }
  const runtime = stages.find((s) => s.name === 'runtime')?.body ?? '';
  assert.match(runtime, /^USER 1001/m);
  assert.match(runtime, /health\/ready/);
  const deps = stages.find((s) => s.name === 'deps')?.body ?? '';
  assert.match(deps, /npm ci --omit=dev/);
  assert.match(deps, /tfjs-node/);
  assert.doesNotMatch(runtime, /npm (ci|install)/, 'no dependency install (and no dev dependencies) in the runtime stage');
});

test('promtool accepts the Prometheus config and the alert rules; only metrics endpoints are scraped', async () => {
  const config = path.join(repoRoot, 'docker', 'prometheus', 'prometheus.yml');
  const checkConfig = await run('promtool', ['check', 'config', config]);
  assert.equal(checkConfig.code, 0, checkConfig.stdout + checkConfig.stderr);
  assert.match(checkConfig.stdout, /1 rule files found/);
  const checkRules = await run('promtool', ['check', 'rules', path.join(repoRoot, 'docker', 'prometheus', 'rules', 'alerts.yml')]);
  assert.equal(checkRules.code, 0, checkRules.stdout + checkRules.stderr);
  const text = await readFile(config, 'utf8');
  const targets = [...text.matchAll(/targets: \[([^\]]*)\]/g)].map((m) => m[1]);
  assert.deepEqual(targets, [`'stock-prediction:8081'`, `'localhost:9090'`]);
  assert.doesNotMatch(text, /redis:6379|frontend:/);
});

const clusterFile = path.join(repoRoot, 'docker-compose-cluster.yml');

/** `30s`, `1m30s` (compose durations) in seconds. */
function seconds(duration: string | undefined): number {
  const parts = [...(duration ?? '').matchAll(/(\d+)(h|m|s)/g)];
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * (unit === 'h' ? 3600 : unit === 'm' ? 60 : 1), 0);
}

test('the scaled-out stack: a scalable api behind nginx, a worker of the same image, Redis and PostgreSQL, all health-checked', async () => {
  const { services, volumes, networks } = await composeConfig(envFile, clusterFile);
  assert.deepEqual(Object.keys(services).sort(), ['api', 'frontend', 'postgres', 'redis', 'worker']);
  const { api, worker, frontend, postgres } = services;
  assert.ok(api && worker && frontend && postgres);
  // `--scale api=N` needs containers without a fixed name or host port.
  assert.equal(api.container_name, undefined, 'api has no container_name');
  assert.equal(api.ports, undefined, 'api publishes no host port');
  assert.deepEqual(api.expose, ['8081']);
  for (const [name, service] of Object.entries(services)) {
    assert.ok(service.healthcheck?.test, `${name} has a healthcheck`);
    for (const [dependency, spec] of Object.entries(service.depends_on ?? {})) assert.equal(spec.condition, 'service_healthy', `${name} waits for ${dependency}`);
    if (name !== 'frontend') assert.equal(service.ports, undefined, `${name} is reachable only on the compose network`);
  }
  assert.deepEqual(frontend.ports?.length, 1, 'nginx is the one published service');
  assert.deepEqual(Object.keys(frontend.depends_on ?? {}), ['api']);
  assert.match(String(api.healthcheck?.test), /\/health\/ready/);
  assert.ok(seconds(api.stop_grace_period) > Number(api.environment?.SHUTDOWN_TIMEOUT), 'Docker waits longer than the replica drains');
  // Every replica and the worker: one image, one persistent_data, one Redis, one PostgreSQL.
  assert.equal(worker.image, api.image);
  assert.deepEqual(worker.build, api.build);
  assert.equal(worker.environment?.ROLE, 'worker');
  assert.equal(api.environment?.ROLE, undefined, 'api runs the default role');
  assert.equal(worker.ports, undefined);
  for (const variable of ['PERSISTENT_DATA_PATH', 'REDIS_URL', 'DATABASE_URL', 'API_KEYS']) {
    assert.ok(api.environment?.[variable], `api has ${variable}`);
    assert.equal(worker.environment?.[variable], api.environment?.[variable], `worker and api share ${variable}`);
  }
  assert.deepEqual((worker.volumes ?? []).map(mountString), (api.volumes ?? []).map(mountString));
  assert.deepEqual((api.volumes ?? []).map(mountString), [`${path.join(repoRoot, 'persistent_data')}:/app/persistent_data`]);
  const env = parseEnvFile(await readFile(envFile, 'utf8'));
  const database = new URL(api.environment?.DATABASE_URL ?? '');
  assert.equal(database.hostname, 'postgres');
  assert.equal(database.username, postgres.environment?.POSTGRES_USER);
  assert.equal(database.password, env.get('POSTGRES_PASSWORD'));
  assert.equal(database.pathname, `/${postgres.environment?.POSTGRES_DB ?? ''}`);
  assert.equal(api.environment?.REDIS_URL, `redis://:${env.get('REDIS_PASSWORD')}@redis:6379/0`);
  assert.ok(volumes && 'postgres-data' in volumes, 'PostgreSQL keeps its data in a named volume');
  // The replicas trust exactly their network as proxy: nginx's X-Forwarded-For counts, a client's own does not.
  assert.deepEqual(networks?.['stock-prediction-network']?.ipam?.config?.map((c) => c.subnet), [api.environment?.TRUST_PROXY]);
  assert.equal(loadConfig({ TRUST_PROXY: api.environment?.TRUST_PROXY ?? '' }).trustProxy, api.environment?.TRUST_PROXY);
});

test('nginx reaches every api replica: the shipped upstream resolves the name the replicas answer to, re-resolved with nginx >= 1.27.3', async () => {
  const { services } = await composeConfig(envFile, clusterFile);
  const site = await readFile(path.join(repoRoot, 'docker', 'nginx', 'default.conf'), 'utf8');
  const upstream = /^\s*server ([\w-]+):(\d+) resolve [^;]*;$/m.exec(site);
  assert.ok(upstream, 'the upstream server line re-resolves its name');
  const [, host, port] = upstream;
  const aliases = Object.values(services.api?.networks ?? {}).flatMap((network) => network?.aliases ?? []);
  assert.ok(aliases.includes(host ?? ''), `the api replicas answer to ${host} (aliases: ${aliases.join(', ')})`);
  assert.equal(services.api?.environment?.PORT, port);
  // The single-process stack's service has that name itself: one nginx config serves both stacks.
  assert.ok(Object.keys((await composeConfig(envFile)).services).includes(host ?? ''));
  assert.match(site, /^resolver 127\.0\.0\.11 /m, "Docker's embedded DNS");
  assert.match(site, /proxy_next_upstream error timeout http_502 http_503;/);
  const dockerfile = await readFile(path.join(repoRoot, 'docker', 'Dockerfile'), 'utf8');
  const [, major = '0', minor = '0'] = /^FROM nginxinc\/nginx-unprivileged:(\d+)\.(\d+)[^ ]* AS frontend$/m.exec(dockerfile) ?? [];
  assert.ok(Number(major) > 1 || Number(minor) >= 28, `the frontend image's nginx (${major}.${minor}) knows upstream "resolve"`);
});

test('the scaled-out stack refuses to start without the PostgreSQL password setup writes', async () => {
  const withoutPostgres = path.join(project, 'no-postgres.env');
  await writeFile(withoutPostgres, (await readFile(envFile, 'utf8')).replace(/^POSTGRES_PASSWORD=.*$/m, ''));
  const refused = await run('docker-compose', ['--env-file', withoutPostgres, '-f', clusterFile, 'config']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /POSTGRES_PASSWORD/);
});
