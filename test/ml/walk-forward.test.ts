import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { BEATS_NAIVE_SIGNIFICANCE } from '../../src/ml/evaluation/evaluate.js';
import { walkForward } from '../../src/ml/evaluation/walk-forward.js';
import { InsufficientBarsError } from '../../src/ml/errors.js';
import { realBars, testBackend, TINY_CONFIG } from './real-bars.js';

let backend = '';
before(async () => {
  backend = await testBackend();
});

const bars = realBars('GOOGL', 500);
const config = { ...TINY_CONFIG, epochs: 2 };

describe('walk-forward backtest', () => {
  for (const refit of [false, true]) {
    test(`refit=${refit}: consecutive windows at the end, each scored on days after its training data`, async () => {
      const trainedIn = new Set<number>();
      const result = await walkForward({ symbol: 'GOOGL', bars, config, backend, windows: 2, step: 15, refit, onProgress: (p) => trainedIn.add(p.window) });
      assert.deepEqual([...trainedIn], refit ? [1, 2] : [1]);
      assert.equal(result.windows.length, 2);
      assert.equal(result.points.length, 30);
      const dates = bars.slice(-30).map((b) => b.date);
      assert.deepEqual(result.points.map((p) => p.date), dates);
      assert.equal(result.windows[0]?.from, dates[0]);
      assert.equal(result.windows[1]?.to, dates[29]);
      for (const window of result.windows) {
        assert.ok(window.trained_through < window.from);
        assert.equal(window.evaluation.test_days, 15);
        assert.equal(window.beats_naive, window.evaluation.mae_ratio < 1 && window.evaluation.naive_dm_p_value < BEATS_NAIVE_SIGNIFICANCE);
      }
      assert.equal(result.windows[1]?.trained_through, refit ? bars.at(-16)?.date : bars.at(-31)?.date);
      result.points.forEach((p, i) => {
        const bar = bars[bars.length - 30 + i];
        assert.ok(Math.abs(p.actual - (bar?.adjClose as number)) < 1e-9);
        assert.equal(p.naive, bars[bars.length - 31 + i]?.adjClose, 'naive = the previous close');
        assert.ok(p.lower_80 < p.predicted && p.predicted < p.upper_80);
      });
      assert.equal(result.overall.test_days, 30);
      assert.equal(result.beats_naive, result.overall.mae_ratio < 1 && result.overall.naive_dm_p_value < BEATS_NAIVE_SIGNIFICANCE);
    });
  }

  test('maxBars bounds the history before the first window', async () => {
    const options = { symbol: 'GOOGL', backend, windows: 1, step: 10, refit: false } as const;
    const bounded = await walkForward({ ...options, bars, config: { ...config, maxBars: 200 } });
    const sliced = await walkForward({ ...options, bars: bars.slice(-210), config });
    assert.deepEqual(bounded.points, sliced.points);
  });

  test('bad input', async () => {
    await assert.rejects(walkForward({ symbol: 'GOOGL', bars, config, backend, windows: 0, step: 5, refit: false }), RangeError);
    await assert.rejects(walkForward({ symbol: 'GOOGL', bars: bars.slice(-20), config, backend, windows: 2, step: 15, refit: false }), InsufficientBarsError);
  });
});
