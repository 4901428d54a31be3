import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateForecasts } from '../../src/ml/evaluation/evaluate.js';
import { correlation } from '../../src/ml/evaluation/metrics.js';
import { fitGarch, VOLATILITY_HISTORY } from '../../src/ml/evaluation/volatility.js';
import { createRng } from '../../src/ml/random.js';
import type { Evaluation } from '../../src/ml/types.js';
import { calibratedForecasts, correlatedShocks, garchForecasts, type GarchProcess } from '../helpers/calibrated-forecasts.js';
import { realBars } from './real-bars.js';

/**
 * How far a perfect model's coverage strays on a test split the size of the shipped models' (755 days,
 * 60-day horizon), scored by the service's own evaluation: the yardstick for reading the coverage targets
 * of issue 10 (80 % bands within 77–83 %, 95 % within 93–97 %, next day and pooled over 1..60; interval score
 * no worse than RiskMetrics'): for one model in the kindest world (Gaussian moves of constant volatility),
 * and for the eight shipped ones together in a world of volatility regimes like the sample symbols', whose
 * returns share market days. The figures quoted in the README and docs/model-evaluation.md are the
 * diagnostics this test prints.
 */
describe('band targets of a perfect model on 755-day test splits', () => {
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

  test('in a GARCH world fitted on the sample symbols, eight models that know the true variance miss about a quarter of the 48 band targets', (t) => {
    const processes = SAMPLE_SYMBOLS.map(trainingYearsGarch);
    t.diagnostic(`GARCH(1,1) fitted by the service's fitGarch on the first 70 % of each sample symbol's returns: ${SAMPLE_SYMBOLS.map((symbol, i) => {
      const g = processes[i] as GarchProcess;
      return `${symbol} α ${g.alpha} β ${g.beta} sd ${(100 * Math.sqrt(g.longRun)).toFixed(2)} %`;
    }).join('; ')}`);
    const correlations = sampleCorrelations();
    const offDiagonal = correlations.flatMap((row, i) => row.filter((_, j) => j !== i));
    t.diagnostic(`innovations correlated as the sample symbols' daily log returns on their common days: pairwise ${Math.min(...offDiagonal).toFixed(2)}–${Math.max(...offDiagonal).toFixed(2)}, mean ${(offDiagonal.reduce((a, v) => a + v, 0) / offDiagonal.length).toFixed(2)}`);
    const periods = 100;
    const missedPerPeriod: number[] = [];
    const missedByTarget = new Map<string, number>();
    const pooled80: number[] = [];
    const pooled95: number[] = [];
    const scoreRatio80: number[] = [];
    const scoreRatio95: number[] = [];
    for (let period = 0; period < periods; period += 1) {
      const shocks = correlatedShocks(correlations, VOLATILITY_HISTORY + TEST_DAYS + HORIZON, createRng(1300 + period));
      const perSymbol = garchForecasts(processes, shocks, TEST_DAYS, HORIZON);
      // the global model: every symbol's test days pooled, as its evaluation pools them
      const missed = [...perSymbol, perSymbol.flat()].flatMap((forecasts) => {
        const { horizons } = evaluateForecasts(forecasts);
        const pooled = horizonOf(horizons, '1..60');
        pooled80.push(pooled.coverage_80);
        pooled95.push(pooled.coverage_95);
        scoreRatio80.push(pooled.interval_score_80 / pooled.riskmetrics_interval_score_80);
        scoreRatio95.push(pooled.interval_score_95 / pooled.riskmetrics_interval_score_95);
        return bandTargetsMissed(horizons);
      });
      for (const target of missed) missedByTarget.set(target, (missedByTarget.get(target) ?? 0) + 1);
      missedPerPeriod.push(missed.length);
    }
    const models = SAMPLE_SYMBOLS.length + 1;
    const meanMissed = missedPerPeriod.reduce((a, m) => a + m, 0) / periods;
    const allMet = missedPerPeriod.filter((m) => m === 0).length / periods;
    const meanPooled = pooled80.reduce((a, c) => a + c, 0) / pooled80.length;
    t.diagnostic(`${periods} test periods of ${TEST_DAYS} days, ${models} models: pooled 80 % coverage ${(100 * meanPooled).toFixed(1)} % on average; of the ${6 * models} band targets ${meanMissed.toFixed(1)} missed on average (fewest ${Math.min(...missedPerPeriod)}, most ${Math.max(...missedPerPeriod)}), all met in ${(100 * allMet).toFixed(0)} % of periods`);
    t.diagnostic(`misses per period by target: ${[...missedByTarget].map(([target, n]) => `${target} ${(n / periods).toFixed(2)}`).join(', ')}`);
    // how wide a per-model range must be for bands of the true variance to land in it nine times in ten
    const range = (values: readonly number[]) => `${(100 * quantile(values, 0.05)).toFixed(2)}–${(100 * quantile(values, 0.95)).toFixed(2)} %`;
    t.diagnostic(`pooled coverage, 5th–95th percentile over the ${models * periods} model-periods: 80 % bands ${range(pooled80)}, 95 % bands ${range(pooled95)}`);
    t.diagnostic(`pooled interval score ÷ RiskMetrics', 5th–95th percentile: 80 % ${quantile(scoreRatio80, 0.05).toFixed(3)}–${quantile(scoreRatio80, 0.95).toFixed(3)}, 95 % ${quantile(scoreRatio95, 0.05).toFixed(3)}–${quantile(scoreRatio95, 0.95).toFixed(3)}`);
    // the bands are those of the true variance: calibrated on average (Gaussian bands of a GARCH sum are near exact)
    assert.ok(Math.abs(meanPooled - 0.8) < 0.015, String(meanPooled));
    // yet on a single 755-day test split they miss several targets, the interval score against RiskMetrics among them,
    // and "every target on every model" is out of reach but for rare luck
    assert.ok(meanMissed > 6, String(meanMissed));
    assert.ok((missedByTarget.get('interval score 95 % pooled') ?? 0) / periods > 1, JSON.stringify([...missedByTarget]));
    assert.ok(allMet < 0.05, String(allMet));
  });
});

const SAMPLE_SYMBOLS = ['AAPL', 'AMZN', 'GOOGL', 'MSFT', 'NVDA', 'SPY', 'TSLA'];
const TEST_DAYS = 755;
const HORIZON = 60;

type Horizons = Evaluation['horizons'];

/** The empirical quantile (nearest rank) of `values`. */
function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

function horizonOf(horizons: Horizons, steps: '1' | '1..60'): Horizons[number] {
  return horizons.find((s) => s.steps === steps) as Horizons[number];
}

/**
 * Which of issue 10's six band targets of a model a test split misses: 80 % bands within 77–83 % and 95 %
 * within 93–97 %, next day and pooled over 1..60, and the pooled interval score no worse than RiskMetrics'.
 */
function bandTargetsMissed(horizons: Horizons): string[] {
  const missed: string[] = [];
  for (const steps of ['1', '1..60'] as const) {
    const h = horizonOf(horizons, steps);
    if (h.coverage_80 < 0.77 || h.coverage_80 > 0.83) missed.push(`coverage 80 % at ${steps}`);
    if (h.coverage_95 < 0.93 || h.coverage_95 > 0.97) missed.push(`coverage 95 % at ${steps}`);
  }
  const pooled = horizonOf(horizons, '1..60');
  if (pooled.interval_score_80 > pooled.riskmetrics_interval_score_80) missed.push('interval score 80 % pooled');
  if (pooled.interval_score_95 > pooled.riskmetrics_interval_score_95) missed.push('interval score 95 % pooled');
  return missed;
}

/** A GARCH(1,1) fitted as the service fits it, on the first 70 % of a sample symbol's daily log returns, reverting to their mean square. */
function trainingYearsGarch(symbol: string): GarchProcess {
  const closes = realBars(symbol).map((b) => b.adjClose);
  const returns = closes.slice(1, Math.floor(closes.length * 0.7)).map((c, i) => Math.log(c / (closes[i] as number)));
  const observations = returns.slice(VOLATILITY_HISTORY).map((nextReturn, i) => ({ trailingReturns: returns.slice(i, i + VOLATILITY_HISTORY), nextReturn }));
  const { alpha, beta } = fitGarch(observations);
  return { alpha, beta, longRun: returns.reduce((a, r) => a + r * r, 0) / returns.length };
}

/** The correlation matrix of the sample symbols' daily log returns over the days all of them traded: how much their test periods share. */
function sampleCorrelations(): number[][] {
  const closesByDate = SAMPLE_SYMBOLS.map((symbol) => new Map(realBars(symbol).map((b) => [b.date, b.adjClose])));
  const common = [...(closesByDate[0] as Map<string, number>).keys()].filter((date) => closesByDate.every((m) => m.has(date))).sort();
  const returns = closesByDate.map((m) => common.slice(1).map((date, i) => Math.log((m.get(date) as number) / (m.get(common[i] as string) as number))));
  return returns.map((x) => returns.map((y) => correlation(x, y)));
}
