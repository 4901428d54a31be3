import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Bar } from '../../src/market/bar.js';
import { InsufficientBarsError } from '../../src/ml/errors.js';
import { bandStartFromHistory } from '../../src/ml/history-start.js';
import { createForecaster } from '../../src/ml/predictor.js';
import { trainModel, type TrainedModel } from '../../src/ml/training/train.js';
import { GLOBAL_MODEL_KEY } from '../../src/ml/types.js';
import { realBars, testBackend, TINY_CONFIG } from './real-bars.js';

let backend = '';
before(async () => {
  backend = await testBackend();
});

const trainingSeries = [
  { symbol: 'NVDA', bars: realBars('NVDA', 600) },
  { symbol: 'MSFT', bars: realBars('MSFT', 600) },
];
const aapl = realBars('AAPL', 600);

const trainWithout = (unseenBars: readonly Bar[]): Promise<TrainedModel> =>
  trainModel({ key: GLOBAL_MODEL_KEY, series: trainingSeries, unseen: [{ symbol: 'AAPL', bars: unseenBars }], config: TINY_CONFIG, backend, dataSource: 'csv' });

describe('leave one symbol out', () => {
  test('the left-out symbol plays no part in the model and is scored on the same test days, against naive from its own closes', async () => {
    const a = await trainWithout(aapl);
    // A different world for AAPL: a shorter history and other closes on every day. Nothing of the model may change with it.
    const b = await trainWithout(aapl.slice(100).map((bar, i) => ({ ...bar, close: bar.close * (1.5 + (i % 4) / 20), adjClose: bar.adjClose * (1.5 + (i % 4) / 20) })));
    try {
      assert.deepEqual(a.metadata.symbols, ['NVDA', 'MSFT']);
      const { trained_at: _a, timings: _ta, ...modelA } = a.metadata;
      const { trained_at: _b, timings: _tb, ...modelB } = b.metadata;
      assert.deepEqual(modelB, modelA, 'data range and checksum, split, calibration and evaluation');
      assert.deepEqual(b.scaler, a.scaler);
      assert.deepEqual(b.model.getWeights().map((w) => [...w.dataSync()]), a.model.getWeights().map((w) => [...w.dataSync()]));

      const e = a.unseen?.['AAPL']?.evaluation;
      assert.ok(e !== undefined, 'the unseen symbol is evaluated');
      assert.notDeepEqual(b.unseen?.['AAPL']?.evaluation, e, 'and the evaluation is of its own bars');
      // the model's own test split: the same calendar days
      assert.equal(e.test_from, a.metadata.evaluation.test_from);
      assert.equal(e.test_to, a.metadata.evaluation.test_to);
      // naive MAE rebuilt from the CSV's adjusted closes alone
      const from = aapl.findIndex((bar) => bar.date === e.test_from);
      const moves = aapl.slice(from).map((bar, i) => Math.abs(bar.adjClose - (aapl[from + i - 1] as Bar).adjClose));
      assert.equal(moves.length, e.test_days);
      assert.ok(Math.abs(moves.reduce((s, m) => s + m, 0) / moves.length - e.naive_mae) < 1e-9, `${e.naive_mae}`);
      assert.ok(Math.abs(e.mae_ratio - e.mae / e.naive_mae) < 1e-12);
      assert.equal(e.horizons.at(-1)?.steps, `1..${TINY_CONFIG.horizon}`);

      // Its bands started from its own history before the test split, as the service starts a symbol it never
      // trained on: the served forecaster, replaying the same days from the bars, finds the same start state.
      const start = a.unseen?.['AAPL']?.band_start;
      assert.ok(start !== undefined, 'a start state from the symbol’s own history');
      assert.ok(start.log_scale_80.some((x) => Math.abs(x) > 0.01), 'its own history moved the bands');
      const other = b.unseen?.['AAPL']?.band_start;
      assert.ok(other !== undefined);
      assert.notDeepEqual(other.log_scale_80, start.log_scale_80, 'and it comes from its own bars');
      // beside it, the same days with the bands as calibrated: the same point forecasts, other bands
      const plain = a.unseen?.['AAPL']?.as_calibrated;
      assert.equal(plain?.mae, e.mae);
      assert.notDeepEqual(plain?.horizons, e.horizons, 'the start changes the bands');
      assert.equal(start.start?.as_of, aapl.filter((bar) => bar.date < e.test_from).at(-1)?.date, 'computed on the eve of the test split');
      const forecaster = createForecaster(a.model, a.scaler, { ...a.metadata, version: 'v1', scaler_sha256: 'x' }, 'auto', a.volatilityHead?.head);
      const served = await bandStartFromHistory(forecaster, aapl.filter((bar) => bar.date < e.test_from));
      [...start.log_scale_80, ...start.log_scale_95].forEach((x, i) => {
        const y = [...(served?.log_scale_80 ?? []), ...(served?.log_scale_95 ?? [])][i] as number;
        assert.ok(Math.abs(x - y) < 1e-3, `log multiplier ${i}: evaluated ${x}, served ${y}`);
      });
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
  });

  test('a left-out symbol without bars in the test split is refused before any training', async () => {
    let epochs = 0;
    const unseen = [{ symbol: 'AAPL', bars: aapl.filter((bar) => bar.date < '2025-01-01') }];
    await assert.rejects(
      trainModel({ key: GLOBAL_MODEL_KEY, series: trainingSeries, unseen, config: TINY_CONFIG, backend, dataSource: 'csv', onProgress: () => (epochs += 1) }),
      (error: unknown) => error instanceof InsufficientBarsError && /AAPL: scoring it unseen on the test split/.test(error.message),
    );
    assert.equal(epochs, 0, 'refused before a single epoch of training');
  });
});
