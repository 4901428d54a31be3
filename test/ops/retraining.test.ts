import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { dataLayout } from '../../src/config/layout.js';
import { ModelStore } from '../../src/model-store/store.js';
import { verifyArchive } from '../../src/ops/restore.js';
import { countNewBars, decideRetraining, type RetrainPolicy } from '../../src/ops/retraining.js';
import { tradingDaysBetween } from '../../src/calendar/nyse.js';
import { openTrackingStore } from '../../src/tracking/open.js';
import { scoreForecast } from '../../src/tracking/scoring.js';
import { repoRoot, sampleDir } from '../helpers/paths.js';
import { trainTinyModels, type ModelsFixture } from '../server/fixtures.js';
import { run, runOps } from './cli.js';

const policy: RetrainPolicy = { force: false, maxAgeDays: 30, minNewBars: 5 };
const now = new Date('2026-01-31T00:00:00Z');
const model = { version: 'v20260120T000000Z', trainedAt: '2026-01-20T00:00:00Z', dataTo: '2026-01-16' };

test('decideRetraining: missing, stale, data moved on, forced, unreadable; otherwise keep', () => {
  assert.deepEqual(decideRetraining({ symbol: 'X', newBars: 0 }, policy, now), { symbol: 'X', retrain: false, reason: 'no market data to train on' });
  assert.equal(decideRetraining({ symbol: 'X', lastBar: '2026-01-30', newBars: 0 }, policy, now).reason, 'no model yet');
  assert.equal(decideRetraining({ symbol: 'X', lastBar: '2026-01-30', newBars: 0, modelError: 'manifest missing' }, policy, now).retrain, true);
  const upToDate = decideRetraining({ symbol: 'X', lastBar: '2026-01-20', model, newBars: 2 }, policy, now);
  assert.equal(upToDate.retrain, false);
  assert.match(upToDate.reason, /11\.0 days old, 2 new bars/);
  assert.match(decideRetraining({ symbol: 'X', lastBar: '2026-01-30', model, newBars: 5 }, policy, now).reason, /5 new bars since the model's data ended on 2026-01-16/);
  assert.match(decideRetraining({ symbol: 'X', lastBar: '2026-01-20', model, newBars: 0 }, { ...policy, maxAgeDays: 10 }, now).reason, /11\.0 days old \(> 10\)/);
  assert.equal(decideRetraining({ symbol: 'X', lastBar: '2026-01-20', model, newBars: 0 }, { ...policy, force: true }, now).reason, 'forced');
});

test('decideRetraining: the skill trigger retrains a model whose live accuracy decayed, given enough matured forecasts', () => {
  const skill = { ...policy, live: { maxMaeRatio: 1.1, minMatured: 50 } };
  const state = { symbol: 'X', lastBar: '2026-01-20', model, newBars: 0 };
  const decayed = decideRetraining({ ...state, live: { matured: 60, maeRatio: 1.234 } }, skill, now);
  assert.equal(decayed.retrain, true);
  assert.match(decayed.reason, /decayed: live MAE ratio to naive 1\.234 over 60 matured forecasts \(> 1\.1\)/);
  assert.equal(decideRetraining({ ...state, live: { matured: 49, maeRatio: 1.5 } }, skill, now).retrain, false, 'too few matured forecasts');
  assert.equal(decideRetraining({ ...state, live: { matured: 500, maeRatio: 1.05 } }, skill, now).retrain, false, 'within the threshold');
  assert.equal(decideRetraining({ ...state, live: { matured: 500, maeRatio: 1.5 } }, policy, now).retrain, false, 'no skill policy, no trigger');
});

test('countNewBars counts dates strictly after the model data range', () => {
  assert.equal(countNewBars(['2026-01-14', '2026-01-15', '2026-01-16'], '2026-01-16'), 0);
  assert.equal(countNewBars(['2026-01-15', '2026-01-16', '2026-01-19', '2026-01-20'], '2026-01-16'), 2);
  assert.equal(countNewBars([], '2026-01-16'), 0);
});

let models: ModelsFixture;
let project = '';
let data = '';

before(async () => {
  models = await trainTinyModels(['nvda', 'aapl']);
  project = await mkdtemp(path.join(tmpdir(), 'ops-retrain-'));
  data = path.join(project, 'persistent_data');
  assert.equal((await runOps(['setup', '--data', data, '--no-chown'])).code, 0);
  const layout = dataLayout(data);
  await new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers }).seedFrom(models.modelsDir);
  for (const symbol of ['NVDA', 'AAPL', 'TSLA']) await copyFile(path.join(sampleDir, `${symbol}.csv`), path.join(layout.historical, `${symbol}.csv`));
});

after(async () => {
  await models?.cleanup();
  if (project) await rm(project, { recursive: true, force: true });
});

const TINY = { TRAIN_EPOCHS: '2', TRAIN_UNITS: '8', TRAIN_WINDOW: '10', TRAIN_HORIZON: '10', TRAIN_MAX_BARS: '400', TRAIN_PATIENCE: '1', PERSISTENT_DATA_PATH: '' };

function enhancedTraining(args: string[]) {
  return run('bash', [path.join(repoRoot, 'scripts', 'enhanced_training.sh'), ...args], { env: { ...TINY, PERSISTENT_DATA_PATH: data } });
}

test('enhanced_training.sh backs up the models, then retrains exactly the symbols that are missing or whose data moved on', async () => {
  const dry = await enhancedTraining(['--symbols', 'NVDA,AAPL,TSLA', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /NVDA +keep .*up to date/);
  assert.match(dry.stdout, /TSLA +RETRAIN no model yet/);
  assert.match(dry.stdout, /dry run: would retrain TSLA\n/);

  // Five new trading days arrive for NVDA (same prices as the last bar, later dates).
  const csv = path.join(dataLayout(data).historical, 'NVDA.csv');
  const rows = ['2025-10-09', '2025-10-10', '2025-10-13', '2025-10-14', '2025-10-15'].map((d) => `${d},186.57,189.6,186.54,189.11,189.11,130168900`);
  await appendFile(csv, `${rows.join('\n')}\n`);
  const layout = dataLayout(data);
  const store = new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers });
  const nvdaBefore = await store.currentVersion('nvda');
  const aaplBefore = await store.currentVersion('aapl');

  const result = await enhancedTraining(['--symbols', 'NVDA,AAPL,TSLA']);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /NVDA +RETRAIN 5 new bars since the model's data ended/);
  assert.match(result.stdout, /AAPL +keep/);
  assert.match(result.stdout, /retrained NVDA TSLA/);

  const archives = (await readdir(layout.backups)).filter((n) => n.endsWith('_models.tar.gz'));
  assert.equal(archives.length, 1, 'the models were backed up first');
  const manifest = await verifyArchive(path.join(layout.backups, archives[0] ?? ''));
  assert.deepEqual(manifest.sections, ['ml_models', 'scalers']);
  assert.equal(manifest.models.nvda, nvdaBefore, 'the backup holds the version that was replaced');

  assert.notEqual(await store.currentVersion('nvda'), nvdaBefore, 'NVDA has a new version');
  assert.equal(await store.currentVersion('aapl'), aaplBefore, 'AAPL untouched');
  assert.equal((await store.readMetadata('nvda')).data.to, '2025-10-15', 'the new NVDA model saw the new bars');
  assert.ok(await store.currentVersion('tsla'), 'TSLA got its first model');

  const again = await enhancedTraining(['--symbols', 'NVDA,AAPL,TSLA']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /every model is up to date/);
});

test('the skill trigger end to end: live forecasts in the tracking store that lost to naive make the retrain command pick the model', async () => {
  const layout = dataLayout(data);
  const version = (await new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers }).currentVersion('aapl')) as string;
  const tracking = await openTrackingStore({ databaseUrl: undefined, layout });
  // 60 live next-day forecasts whose errors are twice the naive forecast's (|f − a| = 2, |naive − a| = 1).
  const days = tradingDaysBetween('2025-06-02', '2025-09-30').slice(0, 61);
  const rows = days.slice(0, 60).map((day, i) => ({
    symbol: 'AAPL', issue_date: day, horizon: 1, model_key: 'aapl', model_version: version, target_date: days[i + 1] as string,
    forecast: 103, lower_80: 100, upper_80: 106, lower_95: 99, upper_95: 107, confidence: 0.5, probability_up: null, signal: 'HOLD',
    naive_forecast: 100, backfilled: false, in_sample: false,
  }));
  await tracking.recordForecasts(rows);
  const stored = await tracking.unscored('AAPL', '2025-12-31');
  await tracking.saveOutcomes(stored.map((r) => ({ id: r.id, outcome: scoreForecast(r, 101) })));
  await tracking.close();
  const dry = await enhancedTraining(['--symbols', 'AAPL', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /AAPL +RETRAIN model v\S+ decayed: live MAE ratio to naive 2\.000 over 60 matured forecasts \(> 1\.1\)/);
});
