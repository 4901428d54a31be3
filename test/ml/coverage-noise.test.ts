import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateForecasts, type ScoredForecast } from '../../src/ml/evaluation/evaluate.js';
import { correlation } from '../../src/ml/evaluation/metrics.js';
import { fitGarch, horizonVariances, RISKMETRICS, VOLATILITY_HISTORY } from '../../src/ml/evaluation/volatility.js';
import { createRng } from '../../src/ml/random.js';
import type { Evaluation } from '../../src/ml/types.js';
import { calibratedForecasts, correlatedShocks, garchForecasts, type GarchProcess } from '../helpers/calibrated-forecasts.js';
import { realBars, SAMPLE_SYMBOLS } from './real-bars.js';

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
      const average = mean(values);
      const sd = Math.sqrt(values.reduce((a, v) => a + (v - average) ** 2, 0) / (values.length - 1));
      const inRange = values.filter((v) => v >= low && v <= high).length / values.length;
      t.diagnostic(`${pick} at ${steps}: mean ${(100 * average).toFixed(1)} %, sd ${(100 * sd).toFixed(1)} points, in ${100 * low}–${100 * high} % in ${(100 * inRange).toFixed(0)} % of 100 runs`);
      return { mean: average, sd, inRange };
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
    const correlations = trainingYearsCorrelations();
    const offDiagonal = correlations.flatMap((row, i) => row.filter((_, j) => j !== i));
    t.diagnostic(`innovations correlated as the sample symbols' daily log returns over the first 70 % of their common days: pairwise ${Math.min(...offDiagonal).toFixed(2)}–${Math.max(...offDiagonal).toFixed(2)}, mean ${mean(offDiagonal).toFixed(2)}`);
    const periods = 100;
    const missedPerPeriod: number[] = [];
    const missedByTarget = new Map<string, number>();
    const symbolModels: Horizons[] = [];
    const globalModels: Horizons[] = [];
    for (let period = 0; period < periods; period += 1) {
      const shocks = correlatedShocks(correlations, VOLATILITY_HISTORY + TEST_DAYS, createRng(1300 + period));
      const perSymbol = garchForecasts(processes, shocks, TEST_DAYS, HORIZON);
      const symbols = perSymbol.map((forecasts) => evaluateForecasts(forecasts).horizons);
      // the global model: every symbol's test days pooled, as its evaluation pools them
      const global = evaluateForecasts(perSymbol.flat()).horizons;
      symbolModels.push(...symbols);
      globalModels.push(global);
      const missed = [...symbols, global].flatMap(bandTargetsMissed);
      for (const target of missed) missedByTarget.set(target, (missedByTarget.get(target) ?? 0) + 1);
      missedPerPeriod.push(missed.length);
    }
    const models = SAMPLE_SYMBOLS.length + 1;
    const meanMissed = mean(missedPerPeriod);
    const allMet = missedPerPeriod.filter((m) => m === 0).length / periods;
    const all = [...symbolModels, ...globalModels];
    const nextDay80 = mean(all.map((h) => horizonOf(h, '1').coverage_80));
    const nextDay95 = mean(all.map((h) => horizonOf(h, '1').coverage_95));
    t.diagnostic(`${periods} test periods of ${TEST_DAYS} days, ${models} models: next-day coverage ${(100 * nextDay80).toFixed(2)} % / ${(100 * nextDay95).toFixed(2)} % and pooled ${(100 * mean(all.map((h) => horizonOf(h, '1..60').coverage_80))).toFixed(1)} % / ${(100 * mean(all.map((h) => horizonOf(h, '1..60').coverage_95))).toFixed(1)} % on average; of the ${6 * models} band targets ${meanMissed.toFixed(1)} missed on average (fewest ${Math.min(...missedPerPeriod)}, most ${Math.max(...missedPerPeriod)}), all met in ${(100 * allMet).toFixed(0)} % of periods`);
    t.diagnostic(`misses per period by target: ${[...missedByTarget].map(([target, n]) => `${target} ${(n / periods).toFixed(2)}`).join(', ')}`);
    // how wide a per-model range must be for bands of the true variance to land in it nine times in ten
    const spread = (name: string, horizons: readonly Horizons[]) => {
      const pooled = horizons.map((h) => horizonOf(h, '1..60'));
      const range = (values: readonly number[], scale: number, digits: number) => `${(scale * quantile(values, 0.05)).toFixed(digits)}–${(scale * quantile(values, 0.95)).toFixed(digits)}`;
      const ratio95 = pooled.map((p) => p.interval_score_95 / p.riskmetrics_interval_score_95);
      t.diagnostic(
        `${name}, 5th–95th percentile over ${horizons.length} model-periods: pooled coverage ${range(pooled.map((p) => p.coverage_80), 100, 2)} % (80 %), ${range(pooled.map((p) => p.coverage_95), 100, 2)} % (95 %); ` +
          `pooled interval score ÷ RiskMetrics' ${range(pooled.map((p) => p.interval_score_80 / p.riskmetrics_interval_score_80), 1, 3)} (80 %), ${range(ratio95, 1, 3)} (95 %; 99th percentile ${quantile(ratio95, 0.99).toFixed(3)})`,
      );
      return { ratio95 };
    };
    const symbolSpread = spread('one symbol', symbolModels);
    spread('the global model', globalModels);
    // the bands are those of the true variance: at one day they are exact, so any look-ahead or stale variance shows here
    assert.ok(Math.abs(nextDay80 - 0.8) < 0.003 && Math.abs(nextDay95 - 0.95) < 0.002, `next-day coverage ${nextDay80} / ${nextDay95}`);
    // and on average they score better than RiskMetrics, whose variance lags the truth
    for (const pick of ['80', '95'] as const) {
      const ratios = symbolModels.map((h) => horizonOf(h, '1..60')).map((p) => p[`interval_score_${pick}`] / p[`riskmetrics_interval_score_${pick}`]);
      assert.ok(mean(ratios) < 1, `mean interval score ratio at ${pick} %: ${mean(ratios)}`);
    }
    // yet on a single 755-day test split they miss several targets, the interval score against RiskMetrics among them,
    // and "every target on every model" is out of reach but for rare luck
    assert.ok(meanMissed > 6, String(meanMissed));
    assert.ok((missedByTarget.get('interval score 95 % pooled') ?? 0) / periods > 1, JSON.stringify([...missedByTarget]));
    assert.ok(allMet < 0.05, String(allMet));
    // the yardstick docs/model-evaluation.md quotes: a single symbol's 95 % score reaches 1.05 × RiskMetrics' about one time in twenty
    assert.ok(quantile(symbolSpread.ratio95, 0.95) > 1.02 && quantile(symbolSpread.ratio95, 0.95) < 1.09, String(quantile(symbolSpread.ratio95, 0.95)));
  });

  test('the GARCH world forecasts each day with the variance known the evening before, RiskMetrics over the returns before it', () => {
    const garch: GarchProcess = { alpha: 0.1, beta: 0.85, longRun: 1e-4 };
    const [days, steps] = [4, 3];
    const rng = createRng(7);
    const shocks = Array.from({ length: VOLATILITY_HISTORY + days }, () => 2 * rng.next() - 1);
    const [forecasts] = garchForecasts([garch], [shocks], days, steps);
    // the process, recomputed here: r_t = σ_t z_t, σ²_{t+1} = (1 − α − β) L + α r_t² + β σ²_t
    const variances: number[] = [];
    const returns: number[] = [];
    for (let t = 0, v = garch.longRun; t < shocks.length; t += 1) {
      variances.push(v);
      returns.push(Math.sqrt(v) * (shocks[t] as number));
      v = (1 - garch.alpha - garch.beta) * garch.longRun + garch.alpha * (returns[t] as number) ** 2 + garch.beta * v;
    }
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${a} != ${b}`);
    (forecasts as ScoredForecast[]).forEach((f, d) => {
      const t = VOLATILITY_HISTORY + d;
      close(f.actual[0] as number, returns[t] as number);
      close(f.w80[0] as number, 1.2815516 * Math.sqrt(variances[t] as number));
      close(f.variance[1] as number, (variances[t] as number) + garch.longRun + (garch.alpha + garch.beta) * ((variances[t] as number) - garch.longRun));
      horizonVariances(RISKMETRICS, returns.slice(t - VOLATILITY_HISTORY, t), steps).forEach((v, h) => close(f.ewmaVariance[h] as number, v));
      // outcomes after the last test day are unknown
      f.actual.forEach((a, h) => assert.equal(Number.isNaN(a), d + h >= days, `day ${d} step ${h + 1}`));
    });
  });
});

const TEST_DAYS = 755;
const HORIZON = 60;

type Horizons = Evaluation['horizons'];

function mean(values: readonly number[]): number {
  return values.reduce((a, v) => a + v, 0) / values.length;
}

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

/** The share of a sample symbol's history the shipped models train on (70/15/15): the simulated world is fitted on it alone. */
const TRAINING_SHARE = 0.7;

/** A GARCH(1,1) fitted as the service fits it, on the training share of a sample symbol's daily log returns, reverting to their mean square. */
function trainingYearsGarch(symbol: string): GarchProcess {
  const closes = realBars(symbol).map((b) => b.adjClose);
  const returns = closes.slice(1, Math.floor(closes.length * TRAINING_SHARE)).map((c, i) => Math.log(c / (closes[i] as number)));
  const observations = returns.slice(VOLATILITY_HISTORY).map((nextReturn, i) => ({ trailingReturns: returns.slice(i, i + VOLATILITY_HISTORY), nextReturn }));
  const { alpha, beta } = fitGarch(observations);
  return { alpha, beta, longRun: returns.reduce((a, r) => a + r * r, 0) / returns.length };
}

/** The correlation matrix of the sample symbols' daily log returns over the training share of the days all of them traded. */
function trainingYearsCorrelations(): number[][] {
  const closesByDate = SAMPLE_SYMBOLS.map((symbol) => new Map(realBars(symbol).map((b) => [b.date, b.adjClose])));
  const common = [...(closesByDate[0] as Map<string, number>).keys()].filter((date) => closesByDate.every((m) => m.has(date))).sort();
  const training = common.slice(0, Math.floor(common.length * TRAINING_SHARE));
  const returns = closesByDate.map((m) => training.slice(1).map((date, i) => Math.log((m.get(date) as number) / (m.get(training[i] as string) as number))));
  return returns.map((x) => returns.map((y) => correlation(x, y)));
}
