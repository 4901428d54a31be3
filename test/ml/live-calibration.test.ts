import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { AdaptiveBands } from '../../src/ml/adaptive-bands.js';
import { OWN_HISTORY_DAYS, ownHistoryState, type OwnHistoryDay } from '../../src/ml/calibrate.js';
import { intervalHalfWidths } from '../../src/ml/evaluation/conformal.js';
import { createRng } from '../../src/ml/random.js';
import type { ModelMetadata } from '../../src/ml/types.js';
import { standardGaussian as gaussian } from '../helpers/fat-tails.js';
import { artifacts, tempDir } from '../model-store/fixtures.js';

/** A served version's metadata (the model-store fixture's calibration: horizon 2, rule 0.03 ÷ step, test split to 2024-06-28). */
const metadata = (): ModelMetadata => ({ ...artifacts('nvda', 1).metadata, version: 'v20240701T000000Z', scaler_sha256: 'x' });


/** Trading-ish days after the test split, one per call, as YYYY-MM-DD. */
function days(from: string): () => string {
  const d = new Date(`${from}T00:00:00Z`);
  return () => {
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  };
}

describe('live adaptive bands: matured outcomes from the tracking store move the served bands', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  test('after a regime change (twice the volatility) next-day coverage recovers to ~80 %, and a restart serves the same bands', async () => {
    const dir = await tempDir('adaptive-bands');
    dirs.push(dir);
    const meta = metadata();
    const bands = new AdaptiveBands(dir);
    const rng = createRng(7);
    const next = days('2024-07-01');
    const inside: boolean[] = [];
    // calibrated for unit-scale residuals (q80 = 1.3, q95 = 2 at scale 1); the world's residuals now have scale 2
    for (let t = 0; t < 1500; t += 1) {
      const { w80, w95 } = intervalHalfWidths(meta.calibration.intervals, [1, 1], bands.state(meta, 'NVDA'));
      const residual = 2 * gaussian(rng);
      inside.push(Math.abs(residual) <= (w80[0] as number));
      const day = next();
      await bands.record(meta, 'NVDA', [{ issue_date: day, target_date: day, horizon: 1, inside_80: Math.abs(residual) <= (w80[0] as number), inside_95: Math.abs(residual) <= (w95[0] as number) }]);
    }
    const share = (xs: readonly boolean[]) => xs.filter(Boolean).length / xs.length;
    assert.ok(share(inside.slice(0, 50)) < 0.65, `before adapting the bands cover ${share(inside.slice(0, 50))}`);
    const late = share(inside.slice(-700));
    assert.ok(Math.abs(late - 0.8) <= 0.05, `recovered coverage ${late}`);
    const served = bands.state(meta, 'NVDA');
    assert.equal(served?.outcomes, 1500);
    // restart: a new instance on the same directory serves the same state, from the file written atomically
    assert.deepEqual(new AdaptiveBands(dir).state(meta, 'NVDA'), served);
    const file = JSON.parse(await readFile(`${dir}/nvda_${meta.version}.json`, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(file), ['NVDA']);
    // another symbol answered by the same version keeps its own (here: the metadata's, none) state
    assert.equal(bands.state(meta, 'AAPL'), undefined);
  });

  test('outcomes of forecasts issued within the test split (already in the version’s state) and steps beyond its horizon change nothing', async () => {
    const dir = await tempDir('adaptive-bands');
    dirs.push(dir);
    const meta = metadata();
    const bands = new AdaptiveBands(dir);
    const applied = await bands.record(meta, 'NVDA', [
      { issue_date: meta.evaluation.test_to, target_date: '2024-07-01', horizon: 1, inside_80: false, inside_95: false },
      { issue_date: '2024-07-01', target_date: '2024-07-10', horizon: meta.horizon + 1, inside_80: false, inside_95: false },
    ]);
    assert.equal(applied, 0);
    assert.equal(bands.live(meta, 'NVDA'), undefined);
    const missed = await bands.record(meta, 'NVDA', [{ issue_date: '2024-07-01', target_date: '2024-07-03', horizon: 2, inside_80: false, inside_95: true }]);
    assert.equal(missed, 1);
    // a 2-step miss under the rule 0.03 ÷ step widens the 80 % band at step 2 by exp(0.03 / 2 × 0.8), nothing else
    const live = bands.live(meta, 'NVDA');
    assert.deepEqual(live?.log_scale_80.map((x) => Number(x.toFixed(12))), [0, Number(((0.03 / 2) * 0.8).toFixed(12))]);
    assert.deepEqual(live?.log_scale_95.map((x) => Number(x.toFixed(12))), [0, Number(((-0.03 / 2) * 0.05).toFixed(12))]);
  });

  test('a symbol the version never trained on starts from its own history: once, shared by concurrent requests, kept on disk', async () => {
    const dir = await tempDir('adaptive-bands');
    dirs.push(dir);
    const meta = metadata();
    const bands = new AdaptiveBands(dir);
    const start = { log_scale_80: [0.5, 0.25], log_scale_95: [0.1, 0.2], outcomes: 0, start: { as_of: '2024-07-01', days: 500 } };
    let computed = 0;
    const compute = async () => {
      computed += 1;
      return start;
    };
    await Promise.all([bands.begin(meta, 'TSLA', '2024-07-01', compute), bands.begin(meta, 'TSLA', '2024-07-01', compute)]);
    assert.equal(computed, 1, 'one computation for concurrent requests');
    assert.deepEqual(bands.live(meta, 'TSLA'), start);
    await bands.begin(meta, 'TSLA', '2024-07-02', compute);
    assert.equal(computed, 1, 'and none once started');
    assert.deepEqual(new AdaptiveBands(dir).state(meta, 'TSLA'), start, 'a restart serves the same start');
    // a live outcome then moves the started bands by the version's rule (0.03 ÷ step): a next-day 80 % miss widens step 1
    await bands.record(meta, 'TSLA', [{ issue_date: '2024-07-02', target_date: '2024-07-03', horizon: 1, inside_80: false, inside_95: true }]);
    assert.ok(Math.abs((bands.live(meta, 'TSLA')?.log_scale_80[0] as number) - (0.5 + 0.03 * 0.8)) < 1e-12);

    // an outcome that arrives while a start is being computed moves the start, not the bands as calibrated
    let finish: (state: typeof start) => void = () => undefined;
    const slow = bands.begin(meta, 'AMD', '2024-07-01', () => new Promise((resolve) => (finish = resolve)));
    const recorded = bands.record(meta, 'AMD', [{ issue_date: '2024-07-02', target_date: '2024-07-03', horizon: 1, inside_80: false, inside_95: true }]);
    finish(start);
    await Promise.all([slow, recorded]);
    assert.ok(Math.abs((bands.live(meta, 'AMD')?.log_scale_80[0] as number) - (0.5 + 0.03 * 0.8)) < 1e-12);
    assert.equal(bands.live(meta, 'AMD')?.outcomes, 1);

    // too little history: the bands stay as calibrated, and it is tried again only once a newer bar arrives
    let tries = 0;
    const tooShort = async () => {
      tries += 1;
      return undefined;
    };
    await bands.begin(meta, 'IBM', '2024-07-01', tooShort);
    await bands.begin(meta, 'IBM', '2024-07-01', tooShort);
    assert.equal(tries, 1);
    assert.equal(bands.state(meta, 'IBM'), undefined);
    await bands.begin(meta, 'IBM', '2024-07-02', tooShort);
    assert.equal(tries, 2);
  });

  test('a start that fails is reported, the bands stay as calibrated, and it is retried only on a newer bar', async () => {
    const dir = await tempDir('adaptive-bands');
    dirs.push(dir);
    const meta = metadata();
    const errors: string[] = [];
    const bands = new AdaptiveBands(dir, (error, context) => errors.push(`${context.stage} ${context.symbol}: ${(error as Error).message}`));
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error('a bar failed validation');
    };
    await bands.begin(meta, 'TSLA', '2024-07-01', failing);
    await bands.begin(meta, 'TSLA', '2024-07-01', failing);
    assert.deepEqual(errors, ['start TSLA: a bar failed validation']);
    assert.equal(calls, 1);
    assert.equal(bands.state(meta, 'TSLA'), undefined, 'served as calibrated');
    assert.equal(bands.needsStart(meta, 'TSLA', '2024-07-02'), true, 'tried again on the next bar');
    // a version saved before adaptive rules existed keeps its bands as saved
    const { adaptive_rule: _rule, ...older } = meta.calibration;
    assert.equal(bands.needsStart({ ...meta, calibration: older as typeof meta.calibration }, 'TSLA', '2024-07-02'), false);
  });

  test('the start from own history: bands twice too narrow for a symbol start about twice as wide, and then cover their levels', () => {
    const rng = createRng(21);
    // the model's bands (q80 = 1.3, q95 = 2 at scale 1) for a symbol whose residuals have scale 2
    const day = (scale: number): OwnHistoryDay => ({ served: [0, 0], w80: [1.3, 1.3], w95: [2, 2], actual: [scale * gaussian(rng), scale * gaussian(rng)] });
    // older days of another regime (scale 10) lie beyond the OWN_HISTORY_DAYS looked at
    const history = [...Array.from({ length: 1000 }, () => day(10)), ...Array.from({ length: OWN_HISTORY_DAYS }, () => day(2))];
    const state = ownHistoryState(history, 2, '2024-07-01');
    assert.ok(state !== undefined);
    // Gaussian residuals of scale 2: 80 % of them within 2 × 1.2816, 95 % within 2 × 1.96
    state.log_scale_80.forEach((x) => assert.ok(Math.abs(Math.exp(x) - (2 * 1.2816) / 1.3) < 0.15, `80 %: ×${Math.exp(x)}`));
    state.log_scale_95.forEach((x) => assert.ok(Math.abs(Math.exp(x) - (2 * 1.96) / 2) < 0.15, `95 %: ×${Math.exp(x)}`));
    const fresh = Array.from({ length: 4000 }, () => day(2));
    const share = (w: number, logs: readonly number[]) => fresh.filter((d) => Math.abs(d.actual[0] as number) <= w * Math.exp(logs[0] as number)).length / fresh.length;
    assert.ok(Math.abs(share(1.3, state.log_scale_80) - 0.8) < 0.03, `80 % band covers ${share(1.3, state.log_scale_80)}`);
    assert.ok(Math.abs(share(2, state.log_scale_95) - 0.95) < 0.015, `95 % band covers ${share(2, state.log_scale_95)}`);
    assert.deepEqual(state.start, { as_of: '2024-07-01', days: OWN_HISTORY_DAYS });
    assert.equal(ownHistoryState(history.slice(0, 3), 2, '2024-07-01'), undefined, 'fewer than two horizons of days: as calibrated');
  });
});
