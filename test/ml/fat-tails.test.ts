import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CsvMarketData } from '../../src/market/csv.js';
import { Z_80 } from '../../src/ml/evaluation/evaluate.js';
import { fitDegreesOfFreedom, studentTMultiples } from '../../src/ml/evaluation/student-t.js';
import { horizonVariances, RISKMETRICS, VOLATILITY_HISTORY } from '../../src/ml/evaluation/volatility.js';
import { sampleDir } from '../helpers/paths.js';
import { SAMPLE_SYMBOLS } from './real-bars.js';

/**
 * The figures behind the Student-t band sources (docs/model-evaluation.md, Calibration), from the sample CSVs alone and
 * before any test split: each symbol's next-day log returns over the first 70 % of its history (a year of
 * warm-up first), divided by the RiskMetrics forecast made the day before.
 */
describe('fat tails of volatility-normalised daily returns (training-period days only)', () => {
  test('a Gaussian ±1.2816 sd covers more than 80 % of them on every sample symbol; the fitted Student-t’s multiple about 78 %', async () => {
    const market = new CsvMarketData({ directory: sampleDir });
    for (const symbol of SAMPLE_SYMBOLS) {
      const closes = (await market.getBars(symbol)).map((b) => b.adjClose);
      const returns = closes.slice(1).map((c, i) => Math.log(c / (closes[i] as number)));
      const normalised: number[] = [];
      for (let t = VOLATILITY_HISTORY; t + 1 < Math.floor(returns.length * 0.7); t += 1) {
        const variance = horizonVariances(RISKMETRICS, returns.slice(t - VOLATILITY_HISTORY + 1, t + 1), 1)[0] as number;
        normalised.push((returns[t + 1] as number) / Math.sqrt(variance));
      }
      const nu = fitDegreesOfFreedom(normalised);
      const multiple = studentTMultiples(nu, 1, 0.8)[0] as number;
      const cover = (m: number) => normalised.filter((z) => Math.abs(z) <= m).length / normalised.length;
      assert.ok(nu > 4 && nu < 6, `${symbol}: ν ${nu}`);
      assert.ok(cover(Z_80) > 0.8 && cover(Z_80) < 0.85, `${symbol}: Gaussian covers ${cover(Z_80)}`);
      assert.ok(cover(multiple) > 0.77 && cover(multiple) < 0.79, `${symbol}: Student-t (ν ${nu.toFixed(2)}) covers ${cover(multiple)}`);
    }
  });
});
