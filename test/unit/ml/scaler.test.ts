import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Bar } from '../../../src/market/bar.js';
import { buildDataset, chronologicalSplitDates, fitDatasetScaler } from '../../../src/ml/dataset.js';
import { buildFeatureMatrix } from '../../../src/ml/features.js';
import {
  assertScalerFitBefore,
  fitScaler,
  parseScaler,
  scaleFeatures,
  scaleTargets,
  serializeScaler,
  unscaleTargets,
} from '../../../src/ml/scaler.js';
import { realBars } from '../../ml/real-bars.js';

describe('standardizing scaler', () => {
  const small = fitScaler({
    featureNames: ['a', 'b'],
    featureRows: [
      [1, 5],
      [3, 5],
    ],
    targetRows: [[0.1, 0.2], [0.3, 0.6]],
    fitFrom: '2020-01-01',
    fitTo: '2020-01-02',
  });

  test('mean and population std per column; a constant column maps to 0', () => {
    assert.deepEqual(small.feature_mean, [2, 5]);
    assert.deepEqual(small.feature_std, [1, 1]);
    assert.deepEqual(scaleFeatures(small, [3, 5]), [1, 0]);
  });

  test('targets are scaled per horizon step and round-trip', () => {
    assert.ok(Math.abs((small.target_std[1] as number) - 2 * (small.target_std[0] as number)) < 1e-12);
    const scaled = scaleTargets(small, [0.3, 0.6]);
    assert.ok(scaled.every((v) => Math.abs(v - 1) < 1e-12), 'each step is standardized on its own spread');
    unscaleTargets(small, scaled).forEach((v, h) => assert.ok(Math.abs(v - ([0.3, 0.6][h] as number)) < 1e-12));
  });

  test('canonical JSON: key order does not change the bytes the store hashes', () => {
    const reordered = Object.fromEntries(Object.entries(small).reverse()) as typeof small;
    assert.equal(serializeScaler(reordered), serializeScaler(small));
    assert.deepEqual(parseScaler(serializeScaler(small)), JSON.parse(serializeScaler(small)));
    assert.throws(() => parseScaler('{"version":1}'), TypeError);
    assert.throws(() => parseScaler(JSON.stringify({ ...small, feature_std: [1] })), TypeError);
  });
});

describe('fitted on the training split only', () => {
  const bars = realBars('MSFT', 600);
  const series = (b: readonly Bar[]) => [{ symbol: 'MSFT', bars: b }];
  const split = chronologicalSplitDates(series(bars), 0.7, 0.15);

  test('values after the training period do not change the scaler', () => {
    const reference = fitDatasetScaler(buildDataset(series(bars), 10, 5, split));
    const wild: Bar[] = bars.map((b) => (b.date >= split.validationFrom ? { ...b, adjClose: b.adjClose * 50, volume: b.volume * 100 } : b));
    const other = fitDatasetScaler(buildDataset(series(wild), 10, 5, split));
    const hash = (s: string) => createHash('sha256').update(s).digest('hex');
    assert.equal(hash(serializeScaler(other)), hash(serializeScaler(reference)));
    assert.ok(reference.fit_to < split.validationFrom, 'the scaler records the last training day');
  });

  test('a scaler fitted on the full series is detected and refused for evaluation', () => {
    const matrix = buildFeatureMatrix(bars);
    const leaky = fitScaler({
      featureNames: matrix.names,
      featureRows: matrix.rows,
      targetRows: [[0]],
      fitFrom: bars[0]?.date ?? '',
      fitTo: bars.at(-1)?.date ?? '',
    });
    assert.throws(() => assertScalerFitBefore(leaky, split.testFrom), /overlaps the evaluated period/);
    const honest = fitDatasetScaler(buildDataset(series(bars), 10, 5, split));
    assert.doesNotThrow(() => assertScalerFitBefore(honest, split.testFrom));
    // the leak is real: the full-series scaler differs from the honest one
    assert.notDeepEqual(leaky.feature_mean, honest.feature_mean);
  });
});
