/**
 * In-process cost of one uncached forecast of the shipped NVDA model (features, forward pass, prices and
 * intervals — what a cache miss computes), on the fused pass and, as its reference in the same run, on tfjs.
 */
import path from 'node:path';
import { packageRoot } from '../src/config/package-root.js';
import { CsvMarketData } from '../src/market/csv.js';
import { selectBackend } from '../src/ml/backend.js';
import type { InferencePreference } from '../src/ml/inference/engine.js';
import { ModelStore } from '../src/model-store/store.js';
import type { Row } from './http.js';

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

export async function runInferenceBench(): Promise<Row[]> {
  const backend = await selectBackend('auto');
  const modelsDir = path.join(packageRoot, 'models');
  const store = new ModelStore({ modelsDir, scalersDir: path.join(modelsDir, 'scalers') });
  const bars = await new CsvMarketData({ directory: path.join(packageRoot, 'data', 'sample') }).getBars('NVDA');
  const p50: Record<InferencePreference, number> = { auto: Number.NaN, tfjs: Number.NaN };
  for (const inference of ['auto', 'tfjs'] as const) {
    const forecaster = await store.loadForecaster('nvda', undefined, inference);
    try {
      for (let i = 0; i < 200; i += 1) await forecaster.forecast(bars, 1);
      const times: number[] = [];
      for (let i = 0; i < 1000; i += 1) {
        const t0 = performance.now();
        await forecaster.forecast(bars, 1 + (i % 60));
        times.push(performance.now() - t0);
      }
      p50[inference] = median(times);
    } finally {
      forecaster.dispose();
    }
  }
  return [
    {
      measure: 'uncached single forecast in-process (shipped NVDA model: features + forward pass + prices), fused pass, target p50 ≤ 0.5 ms',
      value: `p50 ${p50.auto.toFixed(3)} ms (1000 forecasts, horizons 1–60)`,
      reference: `same forecasts on tfjs (${backend}): p50 ${p50.tfjs.toFixed(3)} ms → ${(p50.tfjs / p50.auto).toFixed(1)}× faster`,
    },
  ];
}
