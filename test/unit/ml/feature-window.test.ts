import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DataValidationError } from '../../../src/errors.js';
import { CsvMarketData } from '../../../src/market/csv.js';
import { buildFeatureWindow } from '../../../src/ml/feature-window.js';
import { buildFeatureMatrix, FEATURE_WARMUP } from '../../../src/ml/features.js';
import { FORECAST_EXTRA_HISTORY } from '../../../src/ml/predictor.js';
import { repoRoot } from '../../helpers/paths.js';

const market = new CsvMarketData({ directory: path.join(repoRoot, 'data', 'sample') });

describe('buildFeatureWindow: only the rows a forecast window needs', () => {
  test('equals the full feature matrix to 1e-9 on every sample symbol, many end days and window sizes', async () => {
    const symbols = await market.listSymbols();
    assert.ok(symbols.length >= 5);
    let compared = 0;
    for (const symbol of symbols) {
      const bars = await market.getBars(symbol);
      for (const window of [1, 10, 30, 60]) {
        // The forecaster's tail (window + warm-up + extra history) and shorter tails down to the minimum.
        for (const extra of [FORECAST_EXTRA_HISTORY, 37, 0]) {
          for (let end = bars.length; end >= bars.length - 400; end -= 97) {
            const tail = bars.slice(0, end).slice(-(window + FEATURE_WARMUP + extra));
            const expected = buildFeatureMatrix(tail).rows.slice(-window);
            const actual = buildFeatureWindow(tail, window);
            assert.equal(actual.length, window);
            actual.forEach((row, r) =>
              row.forEach((value, c) => {
                const want = expected[r]?.[c] as number;
                assert.ok(Math.abs(value - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${symbol} end ${end} row ${r} column ${c}: ${value} vs ${want}`);
                compared += 1;
              }),
            );
          }
        }
      }
    }
    assert.ok(compared > 10_000);
  });

  test('too few bars is a RangeError; a non-positive price is the same DataValidationError as the full matrix', async () => {
    const bars = (await market.getBars('NVDA')).slice(-100);
    assert.throws(() => buildFeatureWindow(bars.slice(-(FEATURE_WARMUP + 9)), 10), RangeError);
    const broken = bars.map((b, i) => (i === bars.length - 3 ? { ...b, adjClose: 0 } : b));
    assert.throws(() => buildFeatureWindow(broken, 10), DataValidationError);
    assert.throws(() => buildFeatureMatrix(broken), DataValidationError);
  });
});
