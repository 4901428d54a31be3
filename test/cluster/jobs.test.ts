import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/env.js';
import { CLUSTER_API_KEY, startCluster, type Cluster, type ClusterMember } from '../helpers/cluster.js';
import { waitFor } from '../helpers/service-process.js';
import { startSteadyLoad, type LoadReport } from '../helpers/steady-load.js';
import { trainTinyModels, type ModelsFixture } from '../server/fixtures.js';

/**
 * Scale-out with a job queue: nginx in front of two API replicas and one worker (ROLE=worker) on one Redis, one
 * PostgreSQL and one shared persistent_data. Training jobs go through the BullMQ queue, new model versions are
 * published to every replica, the rate limit is one budget per client, and the daily jobs (daily run, retraining
 * policy) are queued once per schedule.
 */

interface Json {
  [key: string]: unknown;
}

const RATE_LIMIT_MAX = 100;
/** When the two extra replicas schedule the daily run: far enough ahead for both to start and schedule it. */
const DAILY_RUN_LEAD_MS = 20_000;
/** Messages of the two scheduled jobs' schedulers, as the replicas log them. */
const SCHEDULED = 'daily job scheduled on the job queue';

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Json };
}

const train = (member: ClusterMember, epochs: number) =>
  json(`${member.url}/api/v1/models/NVDA/train`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': CLUSTER_API_KEY },
    body: JSON.stringify({ epochs }),
  });

const servedVersion = async (member: ClusterMember): Promise<string> => String((await json(`${member.url}/api/v1/models/NVDA`)).body['version']);

/** A request from its own loopback address (so it has its own rate-limit budget); resolves with the status. */
function getFrom(localAddress: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
  });
}

/** Lines of a member's stdout (JSON logs, plus `earlier` output of its killed process) whose message is `msg`. */
function logLines(member: ClusterMember, msg: string, earlier = ''): Json[] {
  return (earlier + member.process().stdout())
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line) as Json);
}

/** `HH:MM:SS UTC` of an instant: DAILY_PREDICTION_TIME for a run a few seconds ahead. */
function utcTime(at: Date): string {
  return `${at.toISOString().slice(11, 19)} UTC`;
}

describe('jobs, models and limits across replicas: nginx, two API replicas and a worker on one Redis', () => {
  let models: ModelsFixture;
  let cluster: Cluster;
  let worker: ClusterMember;
  let dailyAt: Date;
  let schedulers: ClusterMember[];
  /** What the worker printed before it was killed. */
  let killedWorkerOutput = '';

  before(async () => {
    models = await trainTinyModels(['nvda', 'global']);
    cluster = await startCluster({
      replicas: 2,
      seedModelsFrom: models.modelsDir,
      env: {
        // Clients are told apart behind nginx by its X-Forwarded-For.
        TRUST_PROXY: 'loopback',
        RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
        RATE_LIMIT_WINDOW: '10',
        // No model watch: a replica learns of a new version only from the worker's publication.
        MODEL_WATCH_INTERVAL: '0',
        // Sized to seconds: a dead worker's job is put back ~2 s after its last lock renewal.
        JOB_LOCK_DURATION: '2',
        JOB_STALLED_INTERVAL: '1',
        JOB_BACKOFF: '1',
        // Every requested epoch runs (no early stop), so a job lasts long enough to be killed mid-training.
        TRAIN_PATIENCE: '1000',
      },
      members: [
        {
          role: 'worker',
          env: { ROLE: 'worker', LOG_LEVEL: 'info' },
          ready: async (member) => logLines(member, 'worker started').length > 0,
        },
      ],
    });
    const [first] = cluster.others;
    assert.ok(first);
    worker = first;
    // The retraining policy looks at NVDA only (by default it would train every sample symbol without a model).
    const { layout } = loadConfig({ PERSISTENT_DATA_PATH: cluster.dataDir });
    await mkdir(layout.config, { recursive: true });
    await writeFile(path.join(layout.config, 'ml_config.json'), JSON.stringify({ symbols: ['NVDA'] }));
    // Two more replicas with the daily jobs on, due a few seconds from now: each schedules them at start.
    // A loaded machine may start them too late for the time they were given: then again, with a longer lead.
    for (let lead = DAILY_RUN_LEAD_MS; ; lead *= 2) {
      dailyAt = new Date(Date.now() + lead);
      const daily = { DAILY_PREDICTION_ENABLED: 'true', DAILY_PREDICTION_TIME: utcTime(dailyAt), RETRAINING_TIME: utcTime(dailyAt), LOG_LEVEL: 'info' };
      schedulers = await Promise.all([cluster.add({ role: 'api', env: daily }), cluster.add({ role: 'api', env: daily })]);
      const due = dailyAt.getTime();
      const scheduledAt = await waitFor('both replicas to schedule the daily jobs', async () => {
        const times = schedulers.flatMap((replica) => logLines(replica, SCHEDULED).map((line) => Date.parse(String(line['time']))));
        if (times.some(Number.isNaN)) throw new Error('a log line without its ISO time');
        return times.length === 4 ? Math.max(...times) : undefined;
      }, 60_000, 100);
      if (scheduledAt < due - 1000) break;
      if (lead > 4 * DAILY_RUN_LEAD_MS) throw new Error(`the replicas scheduled the daily jobs too late three times (last lead ${lead} ms)`);
      await Promise.all(schedulers.map((replica) => replica.kill()));
    }
  });
  after(async () => {
    await cluster?.stop();
    await models?.cleanup();
  });

  it('a job enqueued through replica A runs on the worker, survives a kill -9 of the worker, and replica B serves its version at once, with zero failed requests', async (t) => {
    const [a, b] = cluster.apis;
    assert.ok(a && b);
    const before = await servedVersion(b);
    const load = startSteadyLoad(cluster.url, { clients: 4, ratePerClient: 5, path: (client, n) => `/api/v1/predict/NVDA?days=${1 + (n % 5)}&client=${client}&n=${n}` });
    let report: LoadReport;
    let switchMs = Number.NaN;
    let job: Json;
    try {
      const accepted = await train(a, 60);
      assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
      const id = String(accepted.body['job_id']);
      // One active job per symbol across replicas.
      const duplicate = await train(b, 60);
      assert.equal(duplicate.status, 409, JSON.stringify(duplicate.body));
      assert.equal((duplicate.body['details'] as Json | undefined)?.['job_id'], id);

      // Replica B reads the job's progress from the queue while the worker trains it.
      const running = await waitFor('the job to be training (seen through replica B)', async () => {
        const { body } = await json(`${b.url}/api/v1/jobs/${id}`);
        const progress = body['progress'] as Json | null;
        return body['status'] === 'running' && progress !== null && Number(progress['epoch']) >= 1 ? body : undefined;
      }, 60_000, 100);
      t.diagnostic(`killing the worker at epoch ${String((running['progress'] as Json)['epoch'])} of 60`);
      await worker.kill();
      assert.equal((await worker.process().done).signal, 'SIGKILL');
      killedWorkerOutput = worker.process().stdout();
      assert.equal(await servedVersion(b), before, 'nothing new serves: the killed job saved nothing');

      await worker.restart();
      job = await waitFor('the job to finish after the restart', async () => {
        const { body } = await json(`${b.url}/api/v1/jobs/${id}`);
        return body['status'] === 'succeeded' || body['status'] === 'failed' ? body : undefined;
      }, 120_000, 100);
      assert.equal(job['status'], 'succeeded', JSON.stringify(job));
      const version = String((job['result'] as Json)['version']);
      assert.notEqual(version, before);
      const finishedAt = Date.parse(String(job['finished_at']));
      await waitFor('replica B to serve the new version', async () => ((await servedVersion(b)) === version ? true : undefined), 30_000, 50);
      switchMs = Date.now() - finishedAt;
      await waitFor('replica A to serve the new version', async () => ((await servedVersion(a)) === version ? true : undefined), 30_000, 50);
      // The restarted worker took the job back from its lapsed lock.
      const restarts = logLines(worker, 'training job started');
      assert.equal(restarts.length, 1, 'the restarted worker ran the job once');
      assert.equal(restarts[0]?.['job_id'], id);
    } finally {
      report = await load.stop();
    }
    t.diagnostic(`new version served by replica B ${switchMs} ms after the job finished; load: ${report.outcomes.length} requests, ${report.failures.length} failed`);
    assert.ok(switchMs < 5000, `replica B served the new version within a few seconds (${switchMs} ms)`);
    assert.deepEqual(report.failures, [], `${report.failures.length} of ${report.outcomes.length} requests failed`);
    assert.ok(report.ok >= 20, `${report.ok} answers during the drill`);
  });

  it('a client bursting through both replicas is limited once: one budget, not one per replica', async (t) => {
    const [a, b] = cluster.apis;
    assert.ok(a && b);
    /** Requests the replicas counted on their own because Redis answered too slowly (by design, never failed). */
    const localHits = async () => {
      let total = 0;
      for (const replica of [a, b]) {
        const metrics = await (await fetch(`${replica.url}/metrics`)).text();
        total += Number(/^rate_limit_local_fallbacks_total (\S+)$/m.exec(metrics)?.[1] ?? 0);
      }
      return total;
    };
    // A loaded machine can make Redis miss the limiter's 100 ms, and the replicas then count on their own for a
    // second: such a burst proves nothing about the shared budget, so it is repeated from a fresh client address.
    for (let attempt = 0; ; attempt += 1) {
      const client = `127.0.0.${77 + attempt}`;
      const before = await localHits();
      const statuses: number[] = [];
      // 80 requests to each replica, 10 at a time, alternating: well within one 10 s window.
      for (let i = 0; i < 16; i += 1) {
        statuses.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => getFrom(client, `${(k % 2 === 0 ? a : b).url}/api/v1/models`)))));
      }
      const ok = statuses.filter((s) => s === 200).length;
      const limited = statuses.filter((s) => s === 429).length;
      const counted = (await localHits()) - before;
      t.diagnostic(`burst of ${statuses.length} through both replicas: ${ok} answered, ${limited} limited (budget ${RATE_LIMIT_MAX}), ${counted} counted per replica while Redis was slow`);
      if (counted > 0 && attempt < 4) continue;
      assert.equal(counted, 0, 'Redis answered the limiter in time for one whole burst');
      assert.equal(ok, RATE_LIMIT_MAX, 'exactly one budget was served');
      assert.equal(limited, statuses.length - RATE_LIMIT_MAX);
      return;
    }
  });

  it('the daily run and the retraining policy, scheduled by two replicas, run once', async (t) => {
    for (const replica of schedulers) {
      const scheduled = logLines(replica, SCHEDULED).map((line) => line['scheduler']);
      assert.deepEqual(scheduled.sort(), ['daily-prediction-run', 'retraining-policy'], `${replica.name} scheduled the daily run and the retraining policy`);
    }
    const waitMs = Math.max(0, dailyAt.getTime() - Date.now());
    const runs = () => logLines(worker, 'daily run job started', killedWorkerOutput);
    const policies = () => logLines(worker, 'retraining policy applied', killedWorkerOutput);
    await waitFor('the daily run and the retraining policy to run', async () => (runs().length > 0 && policies().length > 0 ? true : undefined), waitMs + 30_000, 200);
    // Time for a second run, had either replica's schedule made one of its own.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    t.diagnostic(`due ${dailyAt.toISOString()}: ${runs().length} daily run(s), ${policies().length} retraining policy run(s)`);
    assert.equal(runs().length, 1);
    assert.equal(policies().length, 1);
    // The freshly trained tiny models are up to date: the policy queues nothing.
    assert.deepEqual(policies()[0]?.['queued'], []);
  });
});
