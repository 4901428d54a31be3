import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { CorruptModelError } from '../../src/errors.js';
import { ModelStore } from '../../src/model-store/store.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { ModelRegistry, type ModelLoader } from '../../src/server/model-registry.js';
import { waitFor } from '../helpers/service-process.js';
import { trainTinyModels, type ModelsFixture } from './fixtures.js';

/** A real store whose loads fail `failures` times with `error` first (an injected fault, the rest is real). */
function faultyLoader(store: ModelStore, failures: number, error: () => Error): ModelLoader & { calls: number } {
  const loader = {
    calls: 0,
    keys: () => store.keys(),
    currentVersion: (key: string) => store.currentVersion(key),
    load: async (key: string, version: string) => {
      loader.calls += 1;
      if (loader.calls <= failures) throw error();
      return store.loadForecaster(key, version);
    },
  };
  return loader;
}

function registry(loader: ModelLoader): ModelRegistry {
  return new ModelRegistry({ loader, warmUp: async () => undefined, metrics: createMetrics(), logger: pino({ level: 'silent' }), retry: { initialMs: 50, maxMs: 200 } });
}

describe('model registry: "could not load now" is retried with backoff, "this version is broken" is not', () => {
  let models: ModelsFixture;
  let store: ModelStore;
  before(async () => {
    models = await trainTinyModels(['nvda']);
    store = new ModelStore({ modelsDir: models.modelsDir, scalersDir: models.scalersDir });
  });
  after(async () => {
    await models.cleanup();
  });

  it('a transient failure (EMFILE) heals by itself, without a reload call or the periodic watch', async () => {
    const loader = faultyLoader(store, 3, () => Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }));
    const models = registry(loader);
    const report = await models.reload();
    assert.deepEqual(report.failed.map((f) => [f.key, f.transient]), [['nvda', true]]);
    assert.match(models.entry('nvda')?.error ?? '', /EMFILE.*\(retrying\)/);
    await waitFor('nvda to be ready', async () => (models.entry('nvda')?.status === 'ready' ? true : undefined), 30_000, 20);
    assert.equal(loader.calls, 4, 'three failures, then the retry that worked');
    assert.equal(models.entry('nvda')?.error, undefined);
    await models.close();
  });

  it('a corrupt version is refused once and not retried until it changes', async () => {
    const loader = faultyLoader(store, Number.POSITIVE_INFINITY, () => new CorruptModelError('weights.bin does not match its sha256'));
    const models = registry(loader);
    const report = await models.reload();
    assert.deepEqual(report.failed.map((f) => [f.key, f.transient]), [['nvda', false]]);
    assert.equal(models.entry('nvda')?.status, 'failed');
    // Far longer than the whole retry schedule: nothing tries the refused version again.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(loader.calls, 1);
    assert.deepEqual((await models.reload()).unchanged, ['nvda'], 'the periodic watch skips it too');
    assert.equal(loader.calls, 1);
    await models.close();
  });
});
