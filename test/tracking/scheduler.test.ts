import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { CsvMarketData } from '../../src/market/csv.js';
import type { Forecaster } from '../../src/ml/types.js';
import { ModelStore } from '../../src/model-store/store.js';
import { DailyScheduler, type ScheduledRunner } from '../../src/server/daily-scheduler.js';
import { runDaily } from '../../src/tracking/daily-run.js';
import type { TrackingStore } from '../../src/tracking/store.js';
import { repoRoot } from '../helpers/paths.js';
import { testBackend } from '../ml/real-bars.js';
import { forEachDatabase } from './databases.js';

const models = new ModelStore({ modelsDir: path.join(repoRoot, 'models'), scalersDir: path.join(repoRoot, 'models', 'scalers') });
const market = new CsvMarketData({ directory: path.join(repoRoot, 'data', 'sample') });
let aapl: Forecaster;
before(async () => {
  await testBackend();
  aapl = await models.loadForecaster('aapl');
});
after(() => aapl.dispose());

/** One replica: its own connection to the shared store, the real daily run over the shipped AAPL model. */
function replica(store: TrackingStore): ScheduledRunner {
  return {
    store: () => store,
    defaultSymbols: () => ['AAPL'],
    run: (request) =>
      runDaily({ store, market, acquire: () => ({ key: 'aapl', forecaster: aapl, release: () => undefined }), signal: () => 'HOLD', horizon: 3 }, request),
  };
}

const config = { enabled: true, symbols: [], horizon: 3, time: { hour: 17, minute: 30, timeZone: 'America/New_York' } };
const logger = pino({ level: 'silent' });

forEachDatabase('daily scheduler', (target) => {
  test('at the configured time on a trading day, exactly one of several replicas runs the session, once', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => target().openStore()));
    // Friday 1 March 2024, 18:00 in New York: after 17:30, after the close.
    const at = () => new Date('2024-03-01T23:00:00Z');
    const schedulers = stores.map((s) => new DailyScheduler({ config, tracking: replica(s), logger, now: at }));
    const runs = await Promise.all(schedulers.map((s) => s.tick()));
    assert.equal(runs.filter((r) => r !== undefined).length, 1, 'one replica ran it');
    const [store] = stores as [TrackingStore];
    const rows = await store.query({ symbols: ['AAPL'], from: '2024-03-01', to: '2024-03-01' });
    assert.equal(rows.length, 3);
    assert.equal((await store.lastRun(['scheduled']))?.execution_date, '2024-03-01');
    // Later ticks the same day, and a replica restarted the same evening, do nothing.
    assert.equal(await schedulers[0]?.tick(), undefined);
    const restarted = new DailyScheduler({ config, tracking: replica(store), logger, now: () => new Date('2024-03-01T23:45:00Z') });
    assert.equal(await restarted.tick(), undefined);
    await Promise.all(stores.map((s) => s.close()));
  });

  test('nothing before the configured time, nothing on a closed day; the next run skips weekends and follows DST', async () => {
    const store = await target().openStore();
    const early = new DailyScheduler({ config, tracking: replica(store), logger, now: () => new Date('2024-03-05T22:00:00Z') }); // 17:00 EST
    assert.equal(await early.tick(), undefined);
    const goodFriday = new DailyScheduler({ config, tracking: replica(store), logger, now: () => new Date('2024-03-29T23:00:00Z') });
    assert.equal(await goodFriday.tick(), undefined);
    assert.equal((await store.query({ symbols: ['AAPL'], from: '2024-03-05', to: '2024-03-29' })).length, 0);
    const friday = new DailyScheduler({ config, tracking: replica(store), logger, now: () => new Date('2024-03-08T23:00:00Z') });
    // Monday 11 March, 17:30 EDT (clocks went forward on the 10th) = 21:30 UTC.
    assert.equal(friday.nextRun()?.toISOString(), '2024-03-11T21:30:00.000Z');
    const taipei = new DailyScheduler({
      config: { ...config, time: { hour: 9, minute: 0, timeZone: 'Asia/Taipei' } },
      tracking: replica(store),
      logger,
      now: () => new Date('2024-03-08T23:00:00Z'),
    });
    // 09:00 Taipei on Saturday is Friday evening in New York: a trading day, so it is the next run.
    assert.equal(taipei.nextRun()?.toISOString(), '2024-03-09T01:00:00.000Z');
    assert.equal(new DailyScheduler({ config: { ...config, enabled: false }, tracking: replica(store), logger }).nextRun(), null);
    await store.close();
  });
});
