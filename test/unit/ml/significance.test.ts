import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { batchMeansT, sumVariance } from '../../../src/ml/evaluation/significance.js';
import { createRng } from '../../../src/ml/random.js';
import { cumulativeMoves } from '../../helpers/calibrated-forecasts.js';
import { standardGaussian } from '../../helpers/fat-tails.js';

const near = (actual: number, expected: number, tolerance: number): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

describe('significance of a loss difference on overlapping outcomes', () => {
  test('Newey–West variance of a sum by hand', () => {
    // 1, 2, 3, 4: deviations ±1.5, ±0.5; lag 0: Σ c² = 5; lag 1: γ1 = (0.75 − 0.25 + 0.75) / 4, weight 1/2
    near(sumVariance([1, 2, 3, 4], 0), 5, 1e-12);
    near(sumVariance([1, 2, 3, 4], 1), 4 * (5 / 4 + 2 * 0.5 * (1.25 / 4)), 1e-12);
    assert.equal(sumVariance([], 3), 0);
    near(sumVariance([1, 2, 3, 4], 50), sumVariance([1, 2, 3, 4], 3), 1e-12);
  });

  test('overlapping h-day sums: two horizons of lags recover most of the true variance, the plain variance a fifth of it', () => {
    // x_t = e_t + … + e_{t+h−1}, independent unit e: Var(Σ x) ≈ n h², while n·Var(x) = n h
    const [h, n] = [5, 20000];
    const rng = createRng(3);
    const e = Array.from({ length: n + h }, () => standardGaussian(rng));
    const x = Array.from({ length: n }, (_, t) => e.slice(t, t + h).reduce((s, v) => s + v, 0));
    const truth = n * h * h;
    // expected ratios: (5 + 2·90/11) / 25 = 0.85 at lag 2h, 0.2 without lags
    near(sumVariance(x, 2 * h) / truth, 0.85, 0.08);
    near(sumVariance(x, 0) / truth, 0.2, 0.03);
  });

  test('batch-means t by hand: batch sums, their spread, the oldest remainder dropped', () => {
    // 1..6 in batches of 2: sums 3, 7, 11 (mean 7, variance 16), total 21, its variance 3 × 16
    const t = batchMeansT([[1, 2, 3, 4, 5, 6]], 2);
    near(t.t, 21 / Math.sqrt(48), 1e-12);
    assert.equal(t.degreesOfFreedom, 2);
    // the oldest day does not fill a batch and is left out: sums 3, 7
    const dropped = batchMeansT([[100, 1, 2, 3, 4]], 2);
    near(dropped.t, 10 / Math.sqrt(2 * 8), 1e-12);
    assert.equal(dropped.degreesOfFreedom, 1);
    // a gap of one day between batches of two, counted from the most recent: 6 + 7 and 3 + 4 (5 and 1, 2 left out)
    const gapped = batchMeansT([[1, 2, 3, 4, 5, 6, 7]], 2, 1);
    near(gapped.t, 20 / Math.sqrt(2 * 18), 1e-12);
    assert.equal(gapped.degreesOfFreedom, 1);
  });

  test('batch-means t: no evidence without two batches, none from a constant, and correlated series are not double-counted', () => {
    assert.deepEqual(batchMeansT([[1, 2, 3]], 2), { t: 0, degreesOfFreedom: 0 });
    assert.deepEqual(batchMeansT([[0, 0, 0, 0]], 2), { t: 0, degreesOfFreedom: 1 });
    const rng = createRng(8);
    const better = Array.from({ length: 400 }, () => 0.3 + standardGaussian(rng));
    const one = batchMeansT([better], 10);
    assert.ok(one.t > 3, `${one.t}`);
    // the same series twice (perfectly correlated symbols): the evidence is that of one, not √2 times it
    const twice = batchMeansT([better, better], 10);
    near(twice.t, one.t, 1e-9);
    // a short series beside a long one: the degrees of freedom are the short one's
    assert.equal(batchMeansT([better, better.slice(0, 35)], 10).degreesOfFreedom, 2);
  });

  test('batch-means t of overlapping sums with no real difference: gapped batches reject at their level, adjacent ones too often', (t) => {
    // 20-day overlapping sums of independent zero-mean days, 280 days, in 2,000 runs. In 40-day batches 20 days
    // apart (5 batches, 4 degrees of freedom) no outcome day is shared: |t| beyond the two-sided 5 % critical
    // value (2.776) in about 5 % of runs. Adjacent 40-day batches (7, 6 degrees of freedom, 2.447) share 19 days
    // at each border, correlate, and reject more often than their 5 %.
    let [gapped, adjacent] = [0, 0];
    for (let seed = 0; seed < 2000; seed += 1) {
      const rng = createRng(100 + seed);
      const moves = Array.from({ length: 300 }, () => standardGaussian(rng));
      const sums = Array.from({ length: 280 }, (_, d) => cumulativeMoves(moves, d, 20).at(-1) as number);
      gapped += Math.abs(batchMeansT([sums], 40, 20).t) > 2.776 ? 1 : 0;
      adjacent += Math.abs(batchMeansT([sums], 40).t) > 2.447 ? 1 : 0;
    }
    t.diagnostic(`rejected at 5 %: gapped batches ${((100 * gapped) / 2000).toFixed(2)} %, adjacent batches ${((100 * adjacent) / 2000).toFixed(2)} % of 2,000 runs`);
    near(gapped / 2000, 0.05, 0.012);
    assert.ok(adjacent > gapped, `adjacent ${adjacent} vs gapped ${gapped}`);
  });
});
