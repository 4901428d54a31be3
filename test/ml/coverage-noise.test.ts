import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateForecasts } from '../../src/ml/evaluation/evaluate.js';
import { calibratedForecasts } from '../helpers/calibrated-forecasts.js';

/**
 * How far a perfect model's coverage strays on a test split the size of the shipped models' (755 days,
 * 60-day horizon), scored by the service's own evaluation: the yardstick for reading the coverage targets
 * of issue 10 (80 % bands within 77–83 %, 95 % within 93–97 %, next day and pooled over 1..60). The figures
 * quoted in the README are the diagnostics this test prints.
 */
describe('coverage of a perfect model on a 755-day test split', () => {
  test('next day it lands in the target range almost always; pooled over 1..60 days, about half the time', (t) => {
    const runs = Array.from({ length: 100 }, (_, seed) => evaluateForecasts(calibratedForecasts(755, 60, 500 + seed)).horizons);
    const figures = (steps: string, pick: 'coverage_80' | 'coverage_95', [low, high]: readonly [number, number]) => {
      const values = runs.map((h) => (h.find((s) => s.steps === steps) as NonNullable<(typeof h)[number]>)[pick]);
      const mean = values.reduce((a, v) => a + v, 0) / values.length;
      const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
      const inRange = values.filter((v) => v >= low && v <= high).length / values.length;
      t.diagnostic(`${pick} at ${steps}: mean ${(100 * mean).toFixed(1)} %, sd ${(100 * sd).toFixed(1)} points, in ${100 * low}–${100 * high} % in ${(100 * inRange).toFixed(0)} % of 100 runs`);
      return { mean, sd, inRange };
    };
    const first80 = figures('1', 'coverage_80', [0.77, 0.83]);
    const first95 = figures('1', 'coverage_95', [0.93, 0.97]);
    const pooled80 = figures('1..60', 'coverage_80', [0.77, 0.83]);
    const pooled95 = figures('1..60', 'coverage_95', [0.93, 0.97]);
    // calibrated: every mean near its level
    for (const [f, level] of [[first80, 0.8], [first95, 0.95], [pooled80, 0.8], [pooled95, 0.95]] as const) assert.ok(Math.abs(f.mean - level) < 0.012, `mean ${f.mean}`);
    // next day: binomial noise, about 1.5 points at 80 %, so the ±3-point range holds nearly always
    assert.ok(first80.sd < 0.02 && first80.inRange > 0.9, JSON.stringify(first80));
    assert.ok(first95.inRange > 0.9, JSON.stringify(first95));
    // pooled: 755 overlapping days hold about a dozen independent 60-day outcomes, so the same model misses
    // the pooled ranges on about half of all test splits
    assert.ok(pooled80.sd > 0.03 && pooled80.inRange < 0.7, JSON.stringify(pooled80));
    assert.ok(pooled95.sd > 0.015 && pooled95.inRange < 0.8, JSON.stringify(pooled95));
  });
});
