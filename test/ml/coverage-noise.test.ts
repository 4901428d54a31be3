import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateForecasts, type ScoredForecast } from '../../src/ml/evaluation/evaluate.js';
import { correlation } from '../../src/ml/evaluation/metrics.js';
import { createRng } from '../../src/ml/random.js';
import { calibratedForecasts, correlatedMoves, perfectForecasts } from '../helpers/calibrated-forecasts.js';
import { realBars } from './real-bars.js';

/**
 * How far a perfect model's coverage strays on a test split the size of the shipped models' (755 days,
 * 60-day horizon), scored by the service's own evaluation: the yardstick for reading the coverage targets
 * of issue 10 (80 % bands within 77–83 %, 95 % within 93–97 %, next day and pooled over 1..60), for one model
 * and for the eight shipped ones together, whose symbols share market days. Gaussian moves of constant
 * volatility are the kindest world for it: fat tails and volatility regimes only add noise. The figures
 * quoted in the README and docs/model-evaluation.md are the diagnostics this test prints.
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

  test('on the eight shipped models at once (seven correlated symbols and the global model over all of them), every coverage target holds in few test periods', (t) => {
    const correlations = sampleCorrelations();
    const offDiagonal = correlations.flatMap((row, i) => row.filter((_, j) => j !== i));
    t.diagnostic(`daily log returns of the ${SAMPLE_SYMBOLS.length} sample symbols on their common days: pairwise correlation ${Math.min(...offDiagonal).toFixed(2)}–${Math.max(...offDiagonal).toFixed(2)}, mean ${(offDiagonal.reduce((a, v) => a + v, 0) / offDiagonal.length).toFixed(2)}`);
    const periods = 100;
    const missedPerPeriod: number[] = [];
    let modelsAllMet = 0;
    for (let period = 0; period < periods; period += 1) {
      const moves = correlatedMoves(correlations, TEST_DAYS + HORIZON, createRng(900 + period));
      const perSymbol = moves.map((m) => perfectForecasts(m, TEST_DAYS, HORIZON));
      const missed = [...perSymbol, perSymbol.flat()].map(coverageTargetsMissed);
      modelsAllMet += missed.filter((m) => m === 0).length;
      missedPerPeriod.push(missed.reduce((a, m) => a + m, 0));
    }
    const meanMissed = missedPerPeriod.reduce((a, m) => a + m, 0) / periods;
    const allMet = missedPerPeriod.filter((m) => m === 0).length / periods;
    const models = SAMPLE_SYMBOLS.length + 1;
    t.diagnostic(`exact bands, ${periods} test periods of ${TEST_DAYS} days: a model meets its 4 coverage targets in ${(100 * modelsAllMet / (periods * models)).toFixed(0)} % of model-periods; of the ${4 * models} targets over ${models} models ${meanMissed.toFixed(1)} are missed on average (fewest ${Math.min(...missedPerPeriod)}, most ${Math.max(...missedPerPeriod)}); all ${4 * models} are met in ${(100 * allMet).toFixed(0)} % of periods`);
    // the single-model yardstick above, seen on each model: its four ranges hold together on about half of them at best
    assert.ok(modelsAllMet / (periods * models) < 0.55, String(modelsAllMet));
    // several targets missed in a typical period, and "every target met" out of reach but for rare luck
    assert.ok(meanMissed > 4, String(meanMissed));
    assert.ok(allMet < 0.05, String(allMet));
  });
});

const SAMPLE_SYMBOLS = ['AAPL', 'AMZN', 'GOOGL', 'MSFT', 'NVDA', 'SPY', 'TSLA'];
const TEST_DAYS = 755;
const HORIZON = 60;

/** How many of issue 10's four coverage ranges (80 % within 77–83 %, 95 % within 93–97 %; next day and pooled 1..60) a model's test split misses. */
function coverageTargetsMissed(forecasts: readonly ScoredForecast[]): number {
  const { horizons } = evaluateForecasts(forecasts);
  const ranges = [['1', 'coverage_80', 0.77, 0.83], ['1', 'coverage_95', 0.93, 0.97], ['1..60', 'coverage_80', 0.77, 0.83], ['1..60', 'coverage_95', 0.93, 0.97]] as const;
  return ranges.filter(([steps, pick, low, high]) => {
    const value = (horizons.find((s) => s.steps === steps) as NonNullable<(typeof horizons)[number]>)[pick];
    return value < low || value > high;
  }).length;
}

/** The correlation matrix of the sample symbols' daily log returns over the days all of them traded: how much their test periods share. */
function sampleCorrelations(): number[][] {
  const closesByDate = SAMPLE_SYMBOLS.map((symbol) => new Map(realBars(symbol).map((b) => [b.date, b.adjClose])));
  const common = [...(closesByDate[0] as Map<string, number>).keys()].filter((date) => closesByDate.every((m) => m.has(date))).sort();
  const returns = closesByDate.map((m) => common.slice(1).map((date, i) => Math.log((m.get(date) as number) / (m.get(common[i] as string) as number))));
  return returns.map((x) => returns.map((y) => correlation(x, y)));
}
