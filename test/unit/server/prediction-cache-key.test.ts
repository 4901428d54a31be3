import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { predictionCacheKey } from '../../../src/server/prediction-cache-key.js';

describe('predictionCacheKey', () => {
  const parts = { symbol: 'NVDA', modelVersion: '20251125T221500Z-1a2b', lastBarDate: '2025-10-08', horizon: 5 };

  it('is made of exactly symbol, model version, last bar date and horizon', () => {
    const key = predictionCacheKey(parts);
    assert.equal(key, 'prediction:NVDA:20251125T221500Z-1a2b:2025-10-08:5');
    const variants = [
      { ...parts, symbol: 'AAPL' },
      { ...parts, modelVersion: 'v2' },
      { ...parts, lastBarDate: '2025-10-09' },
      { ...parts, horizon: 1 },
    ].map(predictionCacheKey);
    assert.equal(new Set([key, ...variants]).size, 5, 'each part changes the key');
  });

  it('cannot be made to collide through separators in a part, and refuses bad parts', () => {
    assert.notEqual(
      predictionCacheKey({ ...parts, modelVersion: 'a:2025', lastBarDate: '01' }),
      predictionCacheKey({ ...parts, modelVersion: 'a', lastBarDate: '2025:01' }),
    );
    assert.throws(() => predictionCacheKey({ ...parts, horizon: 0 }), RangeError);
    assert.throws(() => predictionCacheKey({ ...parts, horizon: 1.5 }), RangeError);
    assert.throws(() => predictionCacheKey({ ...parts, symbol: 'nvda/../x' }), RangeError);
    assert.throws(() => predictionCacheKey({ ...parts, modelVersion: '' }), RangeError);
  });
});
