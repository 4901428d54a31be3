import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CsvMarketData } from '../../src/market/csv.js';
import { selectBackend } from '../../src/ml/backend.js';
import { createForecaster } from '../../src/ml/predictor.js';
import { trainingConfigFromEnv } from '../../src/ml/training/config.js';
import { trainModel } from '../../src/ml/training/train.js';
import { trainAll, trainInWorker, type TrainingJob } from '../../src/workers/train-in-worker.js';
import type { TrainingProgress } from '../../src/ml/types.js';
import { ModelStore } from '../../src/model-store/store.js';
import { sampleDir } from '../helpers/paths.js';
import { tempDir } from '../model-store/fixtures.js';

const config = trainingConfigFromEnv({}, { epochs: 2, units: 8, maxBars: 400 });

/** A store in a temp folder, and jobs carrying the sample bars of their symbols (none for a symbol without data). */
async function workspace(symbols: readonly string[]): Promise<{ root: string; job: (key: string, jobSymbols: string[]) => TrainingJob; store: ModelStore }> {
  const root = await tempDir('training-worker');
  const market = new CsvMarketData({ directory: sampleDir });
  const bars = new Map(await Promise.all(symbols.map(async (s) => [s, await market.getBars(s)] as const)));
  const modelsDir = path.join(root, 'ml_models');
  const scalersDir = path.join(root, 'scalers');
  return {
    root,
    store: new ModelStore({ modelsDir, scalersDir }),
    job: (key, jobSymbols) => ({
      key,
      series: jobSymbols.map((symbol) => ({ symbol, bars: bars.get(symbol) ?? [] })),
      dataSource: 'csv',
      config,
      backend: 'wasm',
      modelsDir,
      scalersDir,
      keepVersions: 3,
    }),
  };
}

describe('training in worker threads', () => {
  it('trains and saves a model off the main thread, reporting progress per epoch', async () => {
    const { job, store } = await workspace(['NVDA']);
    const progress: TrainingProgress[] = [];
    const result = await trainInWorker(job('nvda', ['NVDA']), (p) => progress.push(p));
    assert.equal(result.key, 'nvda');
    assert.equal(await store.currentVersion('nvda'), result.version);
    assert.equal(result.metadata.version, result.version);
    assert.equal(result.metadata.backend, 'wasm');
    assert.deepEqual(progress.map((p) => [p.key, p.epoch, p.epochs]), [['nvda', 1, 2], ['nvda', 2, 2]]);
    const forecaster = await store.loadForecaster('nvda');
    try {
      const bars = await new CsvMarketData({ directory: sampleDir }).getBars('NVDA');
      const forecast = await forecaster.forecast(bars, 5);
      assert.equal(forecast.points.length, 5);
      assert.ok(forecast.points.every((p) => p.lower_80 <= p.price && p.price <= p.upper_80));
    } finally {
      forecaster.dispose();
    }
  });

  it('runs jobs in parallel, trains the global model on every symbol, and reports failures without stopping the others', async () => {
    const { job, store } = await workspace(['AAPL', 'MSFT']);
    const outcomes = await trainAll([job('global', ['AAPL', 'MSFT']), job('zzzz', ['ZZZZ']), job('msft', ['MSFT'])], { parallel: 2 });
    assert.deepEqual(outcomes.map((o) => [o.key, o.ok]), [['global', true], ['zzzz', false], ['msft', true]]);
    const failed = outcomes[1];
    assert.ok(failed && !failed.ok && /ZZZZ/.test(failed.error.message));
    assert.equal((failed as { error: { status?: number } }).error.status, 404, 'no bars: insufficient history');
    const global = await store.readMetadata('global');
    assert.deepEqual([...global.symbols].sort(), ['AAPL', 'MSFT']);
    assert.deepEqual(await store.keys(), ['global', 'msft']);
  });

  it('stops a worker when its job is aborted, saving nothing', async () => {
    const { job, store } = await workspace(['SPY']);
    const controller = new AbortController();
    const running = trainInWorker(job('spy', ['SPY']), () => controller.abort(), { signal: controller.signal });
    await assert.rejects(running, /aborted/);
    assert.deepEqual(await store.keys(), []);
  });
});

describe('a trained model through the store', () => {
  it('forecasts exactly what it forecast before it was saved', async () => {
    const backend = await selectBackend('wasm');
    const bars = await new CsvMarketData({ directory: sampleDir }).getBars('AMZN');
    const trained = await trainModel({ key: 'amzn', series: [{ symbol: 'AMZN', bars }], config, backend, dataSource: 'csv' });
    const store = new ModelStore({ modelsDir: path.join(await tempDir('roundtrip'), 'ml_models'), scalersDir: path.join(await tempDir('roundtrip'), 'scalers') });
    const version = await store.save(trained);
    const before = createForecaster(trained.model, trained.scaler, await store.readMetadata('amzn', version), 'auto', trained.volatilityHead?.head);
    const after = await store.loadForecaster('amzn');
    try {
      for (const end of [bars.length, bars.length - 100, bars.length - 700]) {
        const history = bars.slice(0, end);
        const [a, b] = [await before.forecast(history, 60), await after.forecast(history, 60)];
        assert.equal(b.points.length, 60);
        for (let i = 0; i < 60; i += 1) {
          const [pa, pb] = [a.points[i], b.points[i]];
          assert.ok(pa && pb && Math.abs(pa.price - pb.price) <= 1e-6 * pa.price, `day ${i + 1}: ${pa?.price} vs ${pb?.price}`);
          assert.ok(Math.abs(pa.lower_80 - pb.lower_80) <= 1e-6 * pa.price && Math.abs(pa.upper_95 - pb.upper_95) <= 1e-6 * pa.price);
        }
        assert.equal(a.confidence, b.confidence);
      }
    } finally {
      before.dispose();
      after.dispose();
    }
  });
});
