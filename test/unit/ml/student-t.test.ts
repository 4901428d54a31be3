import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Z_80, Z_95 } from '../../../src/ml/evaluation/evaluate.js';
import {
  aggregatedDegreesOfFreedom,
  fitDegreesOfFreedom,
  incompleteBeta,
  logGamma,
  MIN_DEGREES_OF_FREEDOM,
  studentTCdf,
  studentTMultiples,
  studentTQuantile,
} from '../../../src/ml/evaluation/student-t.js';
import { createRng } from '../../../src/ml/random.js';
import { unitVarianceT } from '../../helpers/fat-tails.js';

const near = (a: number, b: number, tolerance: number) => assert.ok(Math.abs(a - b) <= tolerance, `${a} != ${b} (±${tolerance})`);

describe('Student-t kernel', () => {
  test('special functions and quantiles agree with published tables', () => {
    near(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-13);
    near(logGamma(10), Math.log(362880), 1e-12);
    near(incompleteBeta(0.5, 3.5, 3.5), 0.5, 1e-13);
    near(incompleteBeta(0.3, 1, 1), 0.3, 1e-13);
    // Student's t table (two-sided 80 %, 95 %, 90 %)
    near(studentTQuantile(0.975, 5), 2.570582, 1e-6);
    near(studentTQuantile(0.9, 10), 1.372184, 1e-6);
    near(studentTQuantile(0.95, 1), 6.313752, 1e-6);
    near(studentTQuantile(0.975, 30), 2.042272, 1e-6);
    near(studentTQuantile(0.025, 5), -2.570582, 1e-6);
    near(studentTCdf(0, 7), 0.5, 1e-15);
    near(studentTCdf(-1.3, 4) + studentTCdf(1.3, 4), 1, 1e-13);
    assert.throws(() => studentTQuantile(1, 5), RangeError);
  });

  test('the maximum-likelihood degrees of freedom recover fat tails and find none in Gaussian residuals', () => {
    const rng = createRng(11);
    near(fitDegreesOfFreedom(Array.from({ length: 20_000 }, () => unitVarianceT(rng, 6))), 6, 1);
    assert.ok(fitDegreesOfFreedom(Array.from({ length: 20_000 }, () => unitVarianceT(rng, 0))) > 40, 'Gaussian residuals: tails thin enough to be Gaussian');
    // residuals all at 0 are as peaked as it gets (a unit-variance t is highest at 0 for the lowest ν): the fit
    // stops at the bottom of its range, not below the finite kurtosis the horizon aggregation needs
    near(fitDegreesOfFreedom([0, 0, 0]), MIN_DEGREES_OF_FREEDOM, 1e-3);
    assert.throws(() => fitDegreesOfFreedom([]), RangeError);
  });

  test('multiples: at one day a narrower 80 % and a wider 95 % band than the Gaussian; over the horizon they tend to it', () => {
    const m80 = studentTMultiples(5, 60, 0.8);
    const m95 = studentTMultiples(5, 60, 0.95);
    near(m80[0] as number, studentTQuantile(0.9, 5) * Math.sqrt(3 / 5), 1e-12);
    assert.ok((m80[0] as number) < Z_80 - 0.1 && (m95[0] as number) > Z_95);
    near(m80[59] as number, Z_80, 0.01);
    near(m95[59] as number, Z_95, 0.01);
    for (let h = 1; h < 60; h += 1) assert.ok((m80[h] as number) >= (m80[h - 1] as number), 'the 80 % multiple rises toward the Gaussian one');
    assert.equal(aggregatedDegreesOfFreedom(5, 3), 7);
    // long horizons of thin tails reach thousands of degrees of freedom: there the multiples are the Gaussian's
    near(studentTMultiples(100, 60, 0.8)[59] as number, Z_80, 1e-4);
    near(studentTMultiples(100, 60, 0.95)[59] as number, Z_95, 1e-4);
  });
});
