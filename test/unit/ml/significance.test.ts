import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { advantageZ, normalQuantile, sumVariance } from '../../../src/ml/evaluation/significance.js';
import { createRng } from '../../../src/ml/random.js';
import { standardGaussian } from '../../helpers/fat-tails.js';

const near = (actual: number, expected: number, tolerance: number): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

describe('significance of a loss difference on overlapping outcomes', () => {
  test('normal quantiles match the published table', () => {
    // Φ⁻¹ at 0.5, 0.8, 0.9, 0.975, 0.995, 0.999 and the lower tail
    for (const [p, z] of [[0.5, 0], [0.8, 0.8416212], [0.9, 1.2815516], [0.975, 1.959964], [0.995, 2.5758293], [0.999, 3.0902323], [0.01, -2.3263479]] as const) near(normalQuantile(p), z, 1e-6);
    assert.throws(() => normalQuantile(1), RangeError);
  });

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

  test('z of an advantage: the better rule scores positive, no difference scores 0, correlated series are not double-counted', () => {
    const rng = createRng(8);
    const noise = Array.from({ length: 400 }, () => standardGaussian(rng));
    const better = noise.map((v) => 0.3 + v);
    const z = advantageZ([better], 0);
    near(z, (0.3 * 400 + noise.reduce((s, v) => s + v, 0)) / Math.sqrt(sumVariance(better, 0)), 1e-9);
    assert.ok(z > 3, `${z}`);
    assert.equal(advantageZ([[0, 0, 0]], 2), 0);
    // the same series twice (perfectly correlated symbols): the evidence is that of one, not √2 times it
    near(advantageZ([better, better], 0), z, 1e-9);
  });
});
