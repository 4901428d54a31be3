import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reliabilityBins } from '../../src/tracking/reliability.js';
import { scoreForecast } from '../../src/tracking/scoring.js';

/** A matured step-1 row: its forecast called "up" from 100, and the close went up (a hit) or down. */
function row(id: number, confidence: number | null, hit: boolean, backfilled = true) {
  const prices = { forecast: 101, naive_forecast: 100, lower_80: 90, upper_80: 110, lower_95: 80, upper_95: 120 };
  return { id, issue_date: '2024-01-02', confidence, backfilled, outcome: scoreForecast(prices, hit ? 102 : 98) };
}

test('reliability bins: equal counts in confidence order, predicted beside observed, live counted apart', () => {
  const rows = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.55, 0.45].map((c, i) => row(i + 1, c, c > 0.5, i !== 0));
  const bins = reliabilityBins(rows, 5);
  assert.deepEqual(
    bins.map((b) => [b.count, b.confidence_min, b.confidence_max, b.observed_hit_rate]),
    [
      [2, 0.1, 0.2, 0],
      [2, 0.3, 0.4, 0],
      [2, 0.45, 0.55, 0.5],
      [2, 0.6, 0.7, 1],
      [2, 0.8, 0.9, 1],
    ],
  );
  assert.ok(Math.abs((bins[2]?.mean_confidence ?? 0) - 0.5) < 1e-12);
  assert.deepEqual([bins[4]?.live, bins[4]?.backfilled], [1, 1], 'row 1 (confidence 0.9) is the live one');
});

test('reliability bins: equal confidences share a bin, so a constant confidence is one bin; rows without confidence or outcome are left out', () => {
  const tied = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8, 0.9].map((c, i) => row(i + 1, c, i % 2 === 0));
  assert.deepEqual(reliabilityBins(tied, 5).map((b) => [b.count, b.confidence_min, b.confidence_max]), [
    [6, 0.5, 0.5],
    [2, 0.6, 0.7],
    [2, 0.8, 0.9],
  ]);
  const constant = Array.from({ length: 40 }, (_, i) => row(i + 1, 0.526, i < 21));
  assert.deepEqual(reliabilityBins(constant, 10).map((b) => [b.count, b.observed_hit_rate]), [[40, 21 / 40]]);
  const unusable = [row(1, null, true), { ...row(2, 0.7, true), outcome: null }];
  assert.deepEqual(reliabilityBins(unusable, 10), []);
  assert.deepEqual(reliabilityBins([row(1, 0.2, true), row(2, 0.4, false), row(3, 0.3, true)], 10).map((b) => b.confidence_min), [0.2, 0.3, 0.4]);
});
