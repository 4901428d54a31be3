import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Deployment, StatefulSet, type IDeployment, type IStatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  Namespace,
  PersistentVolumeClaim,
  Service,
  type IConfigMap,
  type IContainer,
  type IPersistentVolumeClaim,
  type IPodSpec,
  type IService,
} from 'kubernetes-models/v1';
import { parseAllDocuments, parse } from 'yaml';
import { loadConfig } from '../../src/config/env.js';
import { buildApp, type App } from '../../src/server/app.js';
import { repoRoot, sampleDir } from '../helpers/paths.js';

/**
 * docker/k8s/ checked without a cluster: every object against the Kubernetes API's OpenAPI schemas (the
 * kubernetes-models package's validators: types, required fields, enums), then against the app itself — the
 * probes and the scrape annotation name routes the service really answers, on the port it really listens on.
 */

const k8sDir = path.join(repoRoot, 'docker', 'k8s');

interface Validating {
  validate(): void;
}
/** The model class per `apiVersion/kind`: an object of any other kind is an error, not a skip. */
const MODELS: Record<string, (object: never) => Validating> = {
  'v1/Namespace': (o) => new Namespace(o),
  'v1/ConfigMap': (o) => new ConfigMap(o),
  'v1/PersistentVolumeClaim': (o) => new PersistentVolumeClaim(o),
  'v1/Service': (o) => new Service(o),
  'apps/v1/Deployment': (o) => new Deployment(o),
  'apps/v1/StatefulSet': (o) => new StatefulSet(o),
  'autoscaling/v2/HorizontalPodAutoscaler': (o) => new HorizontalPodAutoscaler(o),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o),
};

interface Manifest {
  readonly file: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly annotations?: Record<string, string> };
  readonly object: unknown;
}

interface Kustomization {
  resources: string[];
  secretGenerator: { name: string; envs: string[] }[];
}

async function kustomization(): Promise<Kustomization> {
  return parse(await readFile(path.join(k8sDir, 'kustomization.yaml'), 'utf8')) as Kustomization;
}

/** Every object of every file the kustomization lists. */
async function manifests(): Promise<Manifest[]> {
  const all: Manifest[] = [];
  for (const file of (await kustomization()).resources) {
    for (const document of parseAllDocuments(await readFile(path.join(k8sDir, file), 'utf8'))) {
      assert.deepEqual(document.errors, [], `${file} is valid YAML`);
      const object = document.toJS() as Omit<Manifest, 'file' | 'object'>;
      all.push({ ...object, file, object });
    }
  }
  return all;
}

function one<T>(all: readonly Manifest[], kind: string, name: string): T {
  const found = all.filter((m) => m.kind === kind && m.metadata.name === name);
  assert.equal(found.length, 1, `one ${kind} ${name}`);
  return found[0]?.object as T;
}

function podSpec(workload: IDeployment | IStatefulSet): IPodSpec {
  const spec = workload.spec?.template.spec;
  assert.ok(spec, 'a pod template');
  return spec;
}

function container(workload: IDeployment): IContainer {
  const [first, ...rest] = podSpec(workload).containers;
  assert.ok(first && rest.length === 0, 'one container');
  return first;
}

/** A probe's or a Service's port (a number or the name of a container port) as a number. */
function portNumber(c: IContainer, port: number | string | undefined): number | undefined {
  return typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
}

describe('Kubernetes manifests (docker/k8s)', () => {
  let all: Manifest[];
  let app: App;
  let dataDir: string;

  before(async () => {
    all = await manifests();
    dataDir = await mkdtemp(path.join(tmpdir(), 'k8s-app-'));
    // The real app on an empty model folder: live at once, never ready (no model to serve).
    const emptyModels = path.join(dataDir, 'no-models');
    app = await buildApp({ config: loadConfig({ PERSISTENT_DATA_PATH: path.join(dataDir, 'pd'), LOG_LEVEL: 'warn' }), logToStdout: false, shippedModelsDir: emptyModels, sampleDataDir: sampleDir });
    await app.ready();
    await app.started;
  });
  after(async () => {
    await app?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('every object is valid against the Kubernetes API schemas, and every file is part of the kustomization', async () => {
    assert.ok(all.length >= 12, `${all.length} objects`);
    for (const manifest of all) {
      const model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
      assert.ok(model, `${manifest.file}: ${manifest.apiVersion} ${manifest.kind} is a kind this test validates`);
      assert.doesNotThrow(() => model(manifest.object as never).validate(), `${manifest.file}: ${manifest.kind} ${manifest.metadata.name}`);
    }
    const listed = new Set((await kustomization()).resources);
    const files = (await readdir(k8sDir)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    assert.deepEqual(files.filter((f) => !listed.has(f)), [], 'no manifest left out of the kustomization');
  });

  it('the schema validation rejects what the API server would (a string port, a missing selector)', () => {
    const api = one<IDeployment>(all, 'Deployment', 'api');
    const broken = structuredClone(api) as unknown as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } }; selector?: unknown } };
    const port = broken.spec.template.spec.containers[0]?.ports[0];
    assert.ok(port);
    port.containerPort = '8081';
    assert.throws(() => new Deployment(broken as never).validate(), /containerPort must be integer/);
    port.containerPort = 8081;
    delete broken.spec.selector;
    assert.throws(() => new Deployment(broken as never).validate(), /selector/);
  });

  it("the API's probes and scrape annotation name routes the app answers, on the port it listens on", async () => {
    const api = one<IDeployment>(all, 'Deployment', 'api');
    const config = one<IConfigMap>(all, 'ConfigMap', 'stock-prediction-config');
    const c = container(api);
    const port = Number(config.data?.['PORT'] ?? loadConfig({}).port);
    assert.equal(loadConfig({ PORT: config.data?.['PORT'] }).port, port);
    assert.equal(c.ports?.[0]?.containerPort, port, 'the container port is the PORT the app listens on');
    const liveness = c.livenessProbe?.httpGet;
    const readiness = c.readinessProbe?.httpGet;
    assert.equal(liveness?.path, '/health/live');
    assert.equal(readiness?.path, '/health/ready');
    assert.equal(portNumber(c, liveness?.port), port);
    assert.equal(portNumber(c, readiness?.port), port);
    // The app's real answers: live while it runs, not ready without a model (503, so no traffic).
    assert.equal((await app.inject({ method: 'GET', url: liveness?.path ?? '' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: readiness?.path ?? '' })).statusCode, 503);
    const annotations = api.spec?.template.metadata?.annotations ?? {};
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(Number(annotations['prometheus.io/port']), port);
    const metrics = await app.inject({ method: 'GET', url: annotations['prometheus.io/path'] ?? '' });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /^# HELP http_requests_total/m);
    // The Service sends to that port, and to the api pods only.
    const service = one<IService>(all, 'Service', 'stock-prediction');
    assert.equal(portNumber(c, service.spec?.ports?.[0]?.targetPort), port);
    assert.deepEqual(service.spec?.selector, api.spec?.selector.matchLabels);
    assert.deepEqual(api.spec?.template.metadata?.labels, api.spec?.selector.matchLabels);
  });

  it('the ConfigMap with the Secret\'s keys is a configuration the app accepts, for both roles', async () => {
    const config = one<IConfigMap>(all, 'ConfigMap', 'stock-prediction-config');
    const secrets = { REDIS_URL: 'redis://:secret@redis:6379/0', DATABASE_URL: 'postgres://stock:secret@postgres:5432/stock_prediction', API_KEYS: 'a-long-enough-key-123' };
    const api = loadConfig({ ...config.data, ...secrets });
    assert.equal(api.layout.root, config.data?.['PERSISTENT_DATA_PATH']);
    assert.notEqual(api.trustProxy, false, 'behind an Ingress the rate limit counts the forwarded client');
    assert.doesNotThrow(() => loadConfig({ ...config.data, ...secrets, ROLE: 'worker' }));
  });

  it('rollouts and scale-in drain: the pod outlives the preStop pause plus the app\'s SHUTDOWN_TIMEOUT; a new pod is ready before an old one goes', () => {
    const config = one<IConfigMap>(all, 'ConfigMap', 'stock-prediction-config');
    const drain = loadConfig({ SHUTDOWN_TIMEOUT: config.data?.['SHUTDOWN_TIMEOUT'] }).shutdownTimeoutSeconds;
    for (const name of ['api', 'worker']) {
      const workload = one<IDeployment>(all, 'Deployment', name);
      const preStop = container(workload).lifecycle?.preStop?.exec?.command ?? [];
      const pause = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
      assert.ok((podSpec(workload).terminationGracePeriodSeconds ?? 30) > pause + drain, `${name}: grace period > ${pause} + ${drain} s`);
    }
    const api = one<IDeployment>(all, 'Deployment', 'api');
    assert.equal(api.spec?.strategy?.rollingUpdate?.maxUnavailable, 0);
    const budget = one<IPodDisruptionBudget>(all, 'PodDisruptionBudget', 'api');
    assert.deepEqual(budget.spec?.selector?.matchLabels, api.spec?.selector.matchLabels);
  });

  it('the HorizontalPodAutoscaler scales the API Deployment on CPU, which the pods request', () => {
    const hpa = one<IHorizontalPodAutoscaler>(all, 'HorizontalPodAutoscaler', 'api');
    const api = one<IDeployment>(all, 'Deployment', 'api');
    assert.deepEqual(hpa.spec?.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' });
    assert.ok((hpa.spec?.minReplicas ?? 1) >= 2, 'at least two replicas: one can fail');
    assert.ok((hpa.spec?.maxReplicas ?? 0) > (hpa.spec?.minReplicas ?? 1));
    assert.equal(hpa.spec?.metrics?.[0]?.resource?.name, 'cpu');
    assert.ok(container(api).resources?.requests?.['cpu'], 'CPU utilization is measured against the request');
    for (const name of ['api', 'worker']) assert.ok(container(one<IDeployment>(all, 'Deployment', name)).resources?.limits?.['memory'], `${name} has a memory limit`);
  });

  it('API and worker: one image, one ReadWriteMany persistent_data at PERSISTENT_DATA_PATH, one Redis and PostgreSQL; the worker runs ROLE=worker', () => {
    const config = one<IConfigMap>(all, 'ConfigMap', 'stock-prediction-config');
    const claim = one<IPersistentVolumeClaim>(all, 'PersistentVolumeClaim', 'persistent-data');
    assert.deepEqual(claim.spec?.accessModes, ['ReadWriteMany']);
    const [api, worker] = ['api', 'worker'].map((name) => one<IDeployment>(all, 'Deployment', name));
    assert.ok(api && worker);
    assert.equal(container(worker).image, container(api).image);
    for (const workload of [api, worker]) {
      const c = container(workload);
      const volume = podSpec(workload).volumes?.find((v) => v.persistentVolumeClaim?.claimName === 'persistent-data');
      assert.ok(volume, 'mounts the shared claim');
      assert.equal(c.volumeMounts?.find((m) => m.name === volume.name)?.mountPath, config.data?.['PERSISTENT_DATA_PATH']);
      assert.deepEqual(c.envFrom?.map((e) => e.configMapRef?.name), ['stock-prediction-config']);
      for (const variable of ['REDIS_URL', 'DATABASE_URL']) {
        assert.deepEqual(c.env?.find((e) => e.name === variable)?.valueFrom?.secretKeyRef, { name: 'stock-prediction-secrets', key: variable });
      }
    }
    assert.equal(container(worker).env?.find((e) => e.name === 'ROLE')?.value, 'worker');
    assert.equal(container(api).env?.find((e) => e.name === 'ROLE'), undefined, 'the api runs the default role');
  });

  it('secrets come from the generated Secret only, every key it is asked for is in secrets.env.example, and its URLs name the in-cluster services', async () => {
    const { secretGenerator } = await kustomization();
    assert.deepEqual(secretGenerator.map((g) => [g.name, g.envs]), [['stock-prediction-secrets', ['secrets.env']]]);
    const example = new Map(
      (await readFile(path.join(k8sDir, 'secrets.env.example'), 'utf8'))
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
    );
    const refs = [...JSON.stringify(all.map((m) => m.object)).matchAll(/"secretKeyRef":\{"name":"([^"]+)","key":"([^"]+)"\}/g)];
    assert.ok(refs.length >= 7, `${refs.length} secret references`);
    for (const [, name, key] of refs) {
      assert.equal(name, 'stock-prediction-secrets');
      assert.ok(example.has(key ?? ''), `secrets.env.example lists ${key}`);
    }
    assert.equal(all.some((m) => m.kind === 'Secret'), false, 'no Secret with values is committed');
    const gitignore = await readFile(path.join(repoRoot, '.gitignore'), 'utf8');
    assert.match(gitignore, /^docker\/k8s\/secrets\.env$/m);
    for (const [variable, service] of [['REDIS_URL', 'redis'], ['DATABASE_URL', 'postgres']] as const) {
      const url = new URL(example.get(variable) ?? '');
      const target = one<IService>(all, 'Service', service);
      assert.equal(url.hostname, service);
      assert.equal(Number(url.port), target.spec?.ports?.[0]?.port);
      const statefulSet = one<IStatefulSet>(all, 'StatefulSet', service);
      assert.deepEqual(target.spec?.selector, statefulSet.spec?.selector.matchLabels);
      assert.ok(statefulSet.spec?.volumeClaimTemplates?.length, `${service} keeps its data on a volume`);
    }
    const postgres = podSpec(one<IStatefulSet>(all, 'StatefulSet', 'postgres')).containers[0];
    const database = new URL(example.get('DATABASE_URL') ?? '');
    assert.equal(postgres?.env?.find((e) => e.name === 'POSTGRES_USER')?.value, database.username);
    assert.equal(`/${postgres?.env?.find((e) => e.name === 'POSTGRES_DB')?.value ?? ''}`, database.pathname);
  });
});
