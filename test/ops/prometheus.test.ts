import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../helpers/free-port.js';
import { repoRoot } from '../helpers/paths.js';
import { startPrometheus, type PrometheusHandle, type PromSample } from '../helpers/prometheus-server.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { API_KEY, makeDataDir, startApp, trainTinyModels, type ModelsFixture, type TestServer } from '../server/fixtures.js';
import { metricNames } from './promql-names.js';

/**
 * The real stack's monitoring, end to end: the real service (real tiny LSTMs on real prices, real
 * Redis) scraped by a real Prometheus running the repository's prometheus.yml and alert rules.
 * Every query of every Grafana panel must return data; every alert rule must evaluate cleanly and
 * only use metrics the service exports.
 */
const dockerDir = path.join(repoRoot, 'docker');
const JOB = 'stock-prediction';
/** The original system's scrape job name: an operator who kept its prometheus.yml scrapes the service under it. */
const ORIGINAL_JOB = 'stock-prediction-api';

let models: ModelsFixture;
let redis: RedisServerHandle;
let server: TestServer;
let prometheus: PrometheusHandle;
let base = '';

function replaceOnce(text: string, from: string, to: string): string {
  const count = text.split(from).length - 1;
  assert.equal(count, 1, `expected exactly one "${from}" in docker/prometheus/prometheus.yml, found ${count}`);
  return text.replace(from, to);
}

async function get(pathname: string, init?: RequestInit): Promise<number> {
  const response = await fetch(`${base}${pathname}`, init);
  await response.arrayBuffer();
  return response.status;
}

/** Real traffic: uncached and cached predictions (own and global model), batch, bad input, unknown symbol, history, health. */
async function traffic(round: number): Promise<void> {
  const statuses: number[] = [];
  for (const symbol of ['NVDA', 'AAPL', 'MSFT']) {
    statuses.push(await get(`/api/v1/predict/${symbol}?days=${round}`)); // new horizon: computed
    statuses.push(await get(`/api/v1/predict/${symbol}?days=${round}`)); // cached
  }
  statuses.push(await get('/api/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ symbols: ['NVDA', 'AAPL'], days: 3 }) }));
  statuses.push(await get('/api/v1/predict/NOSUCH'));
  statuses.push(await get('/api/v1/predict/bad$symbol'));
  statuses.push(await get('/api/v1/historical/NVDA?days=30'));
  statuses.push(await get('/api/v1/models'));
  statuses.push(await get('/health'));
  statuses.push(await get('/api/v1/stats'));
  assert.ok(statuses.filter((s) => s === 200).length >= 10, `traffic mostly succeeds: ${statuses.join(',')}`);
  assert.ok(statuses.includes(404) && statuses.includes(400), `traffic includes client errors: ${statuses.join(',')}`);
}

async function scrapesSoFar(): Promise<number> {
  const result = await prometheus.query(`count_over_time(up{job="${JOB}"}[10m])`);
  const first = (result.result as PromSample[])[0];
  return first?.value === undefined ? 0 : Number(first.value[1]);
}

async function waitForScrapes(more: number): Promise<void> {
  const target = (await scrapesSoFar()) + more;
  const deadline = Date.now() + 30_000;
  while ((await scrapesSoFar()) < target) {
    assert.ok(Date.now() < deadline, `Prometheus did not scrape the service ${more} more times within 30s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

before(async () => {
  models = await trainTinyModels();
  redis = await startRedisServer();
  const dataDir = await makeDataDir();
  server = await startApp(models, dataDir, { REDIS_URL: redis.url, STORAGE_METRICS_INTERVAL: '1' });
  const port = await freePort();
  await server.app.listen({ port, host: '127.0.0.1' });
  base = `http://127.0.0.1:${port}`;
  const config = await readFile(path.join(dockerDir, 'prometheus', 'prometheus.yml'), 'utf8');
  prometheus = await startPrometheus({
    copy: [{ from: path.join(dockerDir, 'prometheus', 'rules'), to: 'rules' }],
    config: (promPort, dir) => {
      let text = replaceOnce(config, `'stock-prediction:8081'`, `'127.0.0.1:${port}'`);
      // The service is also scraped under the original config's job name, so every panel and rule is run against both.
      const job = /  - job_name: stock-prediction\n[\s\S]*?\n\n/.exec(text)?.[0] ?? '';
      assert.ok(job.length > 0, 'the stock-prediction scrape job in prometheus.yml');
      text = replaceOnce(text, job, `${job}${job.replace(`job_name: ${JOB}`, `job_name: ${ORIGINAL_JOB}`)}`);
      text = replaceOnce(text, `'localhost:9090'`, `'127.0.0.1:${promPort}'`);
      text = replaceOnce(text, 'scrape_interval: 15s', 'scrape_interval: 1s');
      text = replaceOnce(text, 'evaluation_interval: 15s', 'evaluation_interval: 1s');
      text = replaceOnce(text, 'scrape_timeout: 10s', 'scrape_timeout: 1s');
      return replaceOnce(text, '/var/log/prometheus/query.log', path.join(dir, 'query.log'));
    },
  });
  await waitForScrapes(2);
  // A past-date daily run: its forecasts are scored at once, so the live-accuracy metrics have series.
  const run = await fetch(`${base}/api/v1/predictions/daily-run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ symbols: ['NVDA', 'AAPL'], date: '2025-09-02' }),
  });
  const runText = await run.text();
  assert.equal(run.status, 200, runText);
  await traffic(1);
  await waitForScrapes(3);
  await traffic(2);
  await waitForScrapes(3);
});

after(async () => {
  await prometheus?.stop();
  await server?.app.close();
  await redis?.stop();
  await models?.cleanup();
  if (server !== undefined) await rm(server.dataDir, { recursive: true, force: true });
});

test('Prometheus scrapes the service with the repository config: target up', async () => {
  const up = (await prometheus.query(`up{job="${JOB}"}`)).result as PromSample[];
  assert.equal(up.length, 1);
  assert.equal(up[0]?.value?.[1], '1');
});

test('every query of every Grafana panel returns data from the real service, under either scrape job name', async () => {
  const dashboardsDir = path.join(dockerDir, 'grafana', 'dashboards');
  const dashboard = JSON.parse(await readFile(path.join(dashboardsDir, 'stock-prediction.json'), 'utf8')) as {
    panels: { type: string; title: string; targets?: { expr: string }[] }[];
    templating: { list: { name: string; definition: string }[] };
  };
  // The job comes from the dashboard variable, whose options are what its query finds: both job names here.
  const variable = dashboard.templating.list.find((v) => v.name === 'job');
  const labelValues = /^label_values\((\w+), job\)$/.exec(variable?.definition ?? '');
  assert.ok(labelValues, `a "job" variable listing label_values(<metric>, job): ${JSON.stringify(variable)}`);
  const jobs = [...new Set(((await prometheus.query(labelValues[1] as string)).result as PromSample[]).map((s) => s.metric['job']))].sort();
  assert.deepEqual(jobs, [JOB, ORIGINAL_JOB]);
  const queries = dashboard.panels.filter((p) => p.type !== 'row').flatMap((p) => {
    assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has queries`);
    return (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr }));
  });
  const empty: string[] = [];
  for (const { panel, expr } of queries) {
    assert.match(expr, /job=~"\$job"/, `${panel}: the job is the dashboard's variable, never a fixed name`);
    for (const job of jobs) {
      const data = await prometheus.query(expr.replaceAll('$job', job as string)); // throws on a rejected query
      const series = data.resultType === 'vector' || data.resultType === 'matrix' ? (data.result as PromSample[]).length : 1;
      if (series === 0) empty.push(`${panel} (job ${job}): ${expr}`);
    }
  }
  assert.deepEqual(empty, [], `panels without data:\n${empty.join('\n')}`);
  console.log(`grafana: ${queries.length} panel queries of ${dashboard.panels.filter((p) => p.type !== 'row').length} panels, all returned series`);
});

test('every alert rule loads, evaluates without error, and uses only exported metrics', async () => {
  // Let the rule manager evaluate each group at least once.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const rules = await prometheus.rules();
  assert.ok(rules.length >= 7, `alert rules loaded: ${rules.length}`);
  const kinds = rules.map((r) => r.name).join(' ');
  for (const needed of [/Down/, /ErrorRate/, /Latency/, /Redis/, /ModelStale/, /BackupStale/, /PersistentData|Disk/, /LiveAccuracy/, /LiveCoverage/, /DailyPredictionRunFailed/, /DailyPredictionRunMissing/]) {
    assert.match(kinds, needed);
  }
  const missing: string[] = [];
  for (const rule of rules) {
    assert.equal(rule.type, 'alerting');
    assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError ?? ''}`);
    await prometheus.query(rule.query);
    // Each selector that names a job finds the service under both names (the original config's included).
    // (Other matchers are dropped: a selector such as status_code=~"5.." rightly finds nothing without errors.)
    for (const match of rule.query.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{[^}]*?\b(job=~?"[^"]*")[^}]*\}/g)) {
      const selector = `${match[1] as string}{${match[2] as string}}`;
      const found = new Set(((await prometheus.query(selector)).result as PromSample[]).map((s) => s.metric['job']));
      assert.deepEqual([...found].sort(), [JOB, ORIGINAL_JOB], `${rule.name}: ${selector}`);
    }
    for (const name of metricNames(rule.query)) {
      const series = (await prometheus.query(name)).result as PromSample[];
      if (series.length === 0) missing.push(`${rule.name}: ${name}`);
    }
  }
  assert.deepEqual(missing, [], `alert rules using metrics the service does not export:\n${missing.join('\n')}`);
  console.log(`alerts: ${rules.length} rules evaluated, metrics checked: ${[...new Set(rules.flatMap((r) => metricNames(r.query)))].join(', ')}`);
});
