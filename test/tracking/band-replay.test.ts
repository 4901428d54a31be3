import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bar } from '../../src/market/bar.js';
import { CsvMarketData } from '../../src/market/csv.js';
import { neutralAdaptiveState } from '../../src/ml/evaluation/adaptive.js';
import { bandStartFromHistory } from '../../src/ml/history-start.js';
import type { Forecaster, ModelMetadata } from '../../src/ml/types.js';
import { ModelStore } from '../../src/model-store/store.js';
import { BandReplay } from '../../src/tracking/band-replay.js';
import { barsKnownAt } from '../../src/tracking/daily-run.js';
import { repoRoot } from '../helpers/paths.js';
import { testBackend } from '../ml/real-bars.js';

// The shipped global model on the bundled prices, its metadata changed per test to put a day after its test split
// or a symbol outside its training set.
const models = new ModelStore({ modelsDir: path.join(repoRoot, 'models'), scalersDir: path.join(repoRoot, 'models', 'scalers') });
const market = new CsvMarketData({ directory: path.join(repoRoot, 'data', 'sample') });
let global: Forecaster;
let spyBars: Bar[];

function withMetadata(f: Forecaster, change: (m: ModelMetadata) => ModelMetadata): Forecaster {
  return { metadata: change(f.metadata), inference: f.inference, requiredBars: f.requiredBars, forecast: (bars, days, options) => f.forecast(bars, days, options), dispose: () => undefined };
}

describe('where a backfill’s replayed bands start', () => {
  before(async () => {
    await testBackend();
    global = await models.loadForecaster('global');
    spyBars = await market.getBars('SPY');
  });
  after(() => global.dispose());

  test('a day within the test split: as calibrated, whatever the version learned over the split', async () => {
    const replay = await BandReplay.start(global, 'SPY', spyBars, '2024-01-02');
    assert.ok(global.metadata.calibration.adaptive['SPY'] !== undefined);
    assert.deepEqual(replay?.at('2024-01-02'), neutralAdaptiveState(global.metadata.horizon));
  });

  test('a day after the test split: the version’s state at its end', async () => {
    const earlier = withMetadata(global, (m) => ({ ...m, evaluation: { ...m.evaluation, test_to: '2023-12-29' } }));
    const replay = await BandReplay.start(earlier, 'SPY', spyBars, '2024-01-02');
    assert.deepEqual(replay?.at('2024-01-02'), global.metadata.calibration.adaptive['SPY']);
  });

  test('a symbol the model never trained on: its own history before the first day, as the service starts it', async () => {
    const without = withMetadata(global, (m) => ({ ...m, symbols: m.symbols.filter((s) => s !== 'SPY') }));
    const replay = await BandReplay.start(without, 'SPY', spyBars, '2024-01-02');
    const start = await bandStartFromHistory(without, barsKnownAt(spyBars, '2024-01-02'));
    assert.ok(start !== undefined && start.start?.as_of === '2024-01-02');
    assert.deepEqual(replay?.at('2024-01-02'), start);
  });

  test('a version saved before adaptive rules: no replay, its bands as saved', async () => {
    const old = withMetadata(global, (m) => {
      const { adaptive_rule: _rule, ...calibration } = m.calibration;
      return { ...m, calibration: calibration as ModelMetadata['calibration'] };
    });
    assert.equal(await BandReplay.start(old, 'SPY', spyBars, '2024-01-02'), undefined);
  });
});
