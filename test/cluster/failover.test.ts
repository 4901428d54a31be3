import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCluster, type Cluster, type ClusterMember } from '../helpers/cluster.js';
import { waitFor } from '../helpers/service-process.js';
import { startSteadyLoad, type LoadReport, type SteadyLoad } from '../helpers/steady-load.js';
import { trainTinyModels, type ModelsFixture } from '../server/fixtures.js';

/**
 * Two real API replicas (`node dist/src/main.js`) behind the shipped nginx config, on one Redis, one PostgreSQL and
 * one persistent_data: what `docker-compose up --scale api=2` runs. Under a steady load of users, one replica
 * crashes (SIGKILL) or is restarted (SIGTERM): not one user request fails.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Requests a replica answered (its own http_requests_total, scrapes excluded), read from the replica itself. */
async function served(member: ClusterMember): Promise<number> {
  const text = await (await fetch(`${member.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('http_requests_total{') && !line.includes('route="/metrics"'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Predictions (a cache-busting parameter, so nginx passes each to a replica) between liveness probes. */
function userPath(client: number, n: number): string {
  return n % 3 === 2 ? '/health/live' : `/api/v1/predict/NVDA?days=${1 + (n % 5)}&client=${client}&n=${n}`;
}

/** 4 clients at 10 requests/s each: steady, and under the shipped per-address limit (20/s) of nginx. */
function steadyLoad(cluster: Cluster): SteadyLoad {
  return startSteadyLoad(cluster.url, { clients: 4, ratePerClient: 10, path: userPath });
}

/** Waits until `member` has answered `more` requests of the load beyond `from`. */
async function serves(member: ClusterMember, from: number, more = 10): Promise<void> {
  await waitFor(`${member.name} to serve requests of the load`, async () => ((await served(member)) >= from + more ? true : undefined), 30_000, 200);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('API replicas behind the shipped nginx config, under steady load', () => {
  let models: ModelsFixture;
  let cluster: Cluster;

  before(async () => {
    models = await trainTinyModels(['nvda', 'global']);
    cluster = await startCluster({ replicas: 2, seedModelsFrom: models.modelsDir });
  });
  after(async () => {
    await cluster?.stop();
    await models?.cleanup();
  });

  it('kill -9 of one replica: zero failed client requests, the load goes on through the other, and the restarted one rejoins', async (t) => {
    const [victim, survivor] = cluster.apis;
    assert.ok(victim && survivor);
    const load = steadyLoad(cluster);
    let report: LoadReport;
    try {
      // Both replicas take part before the crash.
      await Promise.all([serves(victim, await served(victim)), serves(survivor, await served(survivor))]);
      const pid = victim.process().pid ?? -1;
      const survivorBefore = await served(survivor);
      const killedAt = Date.now();
      await victim.kill();
      assert.equal((await victim.process().done).signal, 'SIGKILL');
      assert.ok(!isAlive(pid), `process ${pid} is gone`);
      // Past the 5 s fail_timeout: nginx tries the dead replica again (refused, passed on) while users keep going.
      await sleep(6500);
      const okAfterKill = load.okSince(killedAt);
      t.diagnostic(`${okAfterKill} answers in the 6.5 s after the kill`);
      assert.ok(okAfterKill >= 100, `the load went on after the kill: ${okAfterKill} answers in 6.5 s`);
      assert.ok((await served(survivor)) - survivorBefore >= 100, 'the survivor answered them');
      await victim.restart();
      await serves(victim, 0);
    } finally {
      // Stopped whatever happened above, and reported after: a failed step's own error is not masked.
      report = await load.stop();
    }
    t.diagnostic(`kill -9 drill: ${report.outcomes.length} requests, ${report.failures.length} failed`);
    assert.deepEqual(report.failures, [], `${report.failures.length} of ${report.outcomes.length} requests failed`);
    const errors = await readFile(path.join(cluster.nginx.logDir, 'error.log'), 'utf8');
    assert.match(errors, /Connection refused|prematurely closed|reset by peer/, 'nginx met the dead replica and passed its requests on');
  });

  it('a rolling restart (SIGTERM, drain, start again, one replica at a time): zero failed client requests', async (t) => {
    const load = steadyLoad(cluster);
    const exitCodes: (number | null)[] = [];
    let report: LoadReport;
    try {
      for (const replica of cluster.apis) {
        await serves(replica, await served(replica));
        exitCodes.push(await replica.terminate());
        await replica.restart();
        // nginx learns that a replica is back only by trying it (passive health, after fail_timeout): the next one
        // goes down once this one takes load again, as a rollout waits for readiness before the next pod.
        await serves(replica, 0);
      }
    } finally {
      report = await load.stop();
    }
    t.diagnostic(`rolling restart: ${report.outcomes.length} requests, ${report.failures.length} failed`);
    assert.deepEqual(report.failures, [], `${report.failures.length} of ${report.outcomes.length} requests failed`);
    assert.ok(report.ok >= 100, `${report.ok} answers over the restart`);
    assert.deepEqual(exitCodes, [0, 0], 'each replica drained and exited by itself');
  });
});
