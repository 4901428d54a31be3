import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextTradingDays } from '../../src/calendar/nyse.js';
import { scoreForecast } from '../../src/tracking/scoring.js';
import type { IssuedForecast } from '../../src/tracking/store.js';
import { forEachDatabase } from './databases.js';

/** Hand-made forecast steps (the store's own behaviour is under test here, not a model's). */
function steps(symbol: string, issueDate: string, count: number, version = 'v1'): IssuedForecast[] {
  return nextTradingDays(issueDate, count).map((target, i) => ({
    symbol,
    issue_date: issueDate,
    horizon: i + 1,
    model_key: symbol.toLowerCase(),
    model_version: version,
    target_date: target,
    forecast: 100 + i,
    lower_80: 95 + i,
    upper_80: 105 + i,
    lower_95: 90 + i,
    upper_95: 110 + i,
    confidence: i === 0 ? 0.55 + issueDate.charCodeAt(9) / 1000 : null,
    probability_up: null,
    signal: 'HOLD',
    naive_forecast: 100,
    backfilled: false,
    in_sample: false,
  }));
}

forEachDatabase('tracking store', (target) => {
  test('writes are idempotent and survive a restart (a new connection sees every row)', async () => {
    const store = await target().openStore();
    const rows = [...steps('AAPL', '2024-03-01', 5), ...steps('MSFT', '2024-03-01', 5)];
    assert.equal(await store.recordForecasts(rows), 10);
    assert.equal(await store.recordForecasts(rows), 0, 're-running the day writes nothing');
    await store.close();
    const reopened = await target().openStore();
    const back = await reopened.query({ symbols: ['AAPL', 'MSFT'] });
    assert.equal(back.length, 10);
    const first = back.find((r) => r.symbol === 'AAPL' && r.horizon === 1);
    assert.equal(first?.target_date, '2024-03-04');
    assert.equal(first?.forecast, 100);
    assert.equal(first?.confidence, 0.55 + '2024-03-01'.charCodeAt(9) / 1000);
    assert.equal(first?.outcome, null);
    await reopened.close();
  });

  test('a batch that fails half-way writes nothing (one transaction)', async () => {
    const store = await target().openStore();
    const good = steps('TSLA', '2024-03-05', 3);
    const broken = { ...good[2], symbol: null } as unknown as IssuedForecast;
    await assert.rejects(store.recordForecasts([good[0] as IssuedForecast, good[1] as IssuedForecast, broken]));
    assert.deepEqual(await store.query({ symbols: ['TSLA'] }), []);
    await store.close();
  });

  test('matured forecasts are scored once; a pushed close re-scores', async () => {
    const store = await target().openStore();
    await store.recordForecasts(steps('NVDA', '2024-03-01', 3));
    const pending = await store.unscored('NVDA', '2024-03-04');
    assert.deepEqual(pending.map((r) => r.target_date), ['2024-03-04']);
    const row = pending[0];
    assert.ok(row);
    assert.equal(await store.saveOutcomes([{ id: row.id, outcome: scoreForecast(row, 103) }]), 1);
    assert.equal(await store.saveOutcomes([{ id: row.id, outcome: scoreForecast(row, 999) }]), 0, 'a scored row is not scored again');
    const [scored] = await store.query({ symbols: ['NVDA'], matured: true });
    assert.deepEqual(scored?.outcome, {
      actual: 103, abs_error: 3, pct_error: (3 / 103) * 100, naive_abs_error: 3,
      direction_correct: false, actual_up: true, inside_80: true, inside_95: true,
    });
    assert.equal(await store.setActual('NVDA', '2024-03-04', 99), 1);
    const [rescored] = await store.query({ symbols: ['NVDA'], matured: true });
    assert.equal(rescored?.outcome?.actual, 99);
    assert.equal(rescored?.outcome?.direction_correct, true);
    assert.deepEqual(await store.symbolsAwaitingActuals().then((s) => s.includes('NVDA')), true);
    await store.close();
  });

  test('history: every order_by works, limit/offset page, in-sample rows only on request', async () => {
    const store = await target().openStore();
    const rows = ['2024-04-01', '2024-04-02', '2024-04-03'].flatMap((d) => steps('GOOGL', d, 1));
    await store.recordForecasts([...rows, { ...(steps('GOOGL', '2024-03-28', 1)[0] as IssuedForecast), in_sample: true }]);
    const all = await store.query({ symbols: ['GOOGL'] });
    assert.deepEqual(all.map((r) => r.issue_date), ['2024-04-03', '2024-04-02', '2024-04-01']);
    assert.equal((await store.query({ symbols: ['GOOGL'], includeInSample: true })).length, 4);
    const page = await store.query({ symbols: ['GOOGL'], orderDir: 'asc', limit: 1, offset: 1 });
    assert.deepEqual(page.map((r) => r.issue_date), ['2024-04-02']);
    const byConfidence = await store.query({ symbols: ['GOOGL'], orderBy: 'confidence' });
    assert.deepEqual(byConfidence.map((r) => r.issue_date), ['2024-04-03', '2024-04-02', '2024-04-01']);
    for (const [i, r] of (await store.unscored('GOOGL', '2024-04-04')).entries()) {
      if (r.in_sample) continue;
      await store.saveOutcomes([{ id: r.id, outcome: scoreForecast(r, 100 + i) }]);
    }
    const byAccuracy = await store.query({ symbols: ['GOOGL'], orderBy: 'accuracy' });
    const errors = byAccuracy.map((r) => r.outcome?.pct_error);
    assert.deepEqual(errors, [...errors].sort((a, b) => (a as number) - (b as number)), 'most accurate first');
    await store.close();
  });

  test('the run lock goes to exactly one of several replicas, and can be taken over once expired', async () => {
    const replicas = await Promise.all([1, 2, 3, 4].map(() => target().openStore()));
    const until = new Date(Date.now() + 60_000);
    const won = await Promise.all(replicas.map((s, i) => s.tryLock('2024-05-01', `replica-${i}`, until)));
    assert.equal(won.filter(Boolean).length, 1, JSON.stringify(won));
    const later = new Date(Date.now() + 120_000);
    assert.equal(await replicas[0]?.tryLock('2024-05-01', 'late', new Date(later.getTime() + 60_000), later), true, 'expired lock taken over');
    await Promise.all(replicas.map((s) => s.close()));
  });
});
