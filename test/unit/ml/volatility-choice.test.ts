import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RISKMETRICS } from '../../../src/ml/evaluation/volatility.js';
import type { VolatilityModel } from '../../../src/ml/types.js';
import { chooseVolatility, volatilityForecast } from '../../../src/ml/volatility-head/choice.js';

const garch: VolatilityModel = { kind: 'garch', alpha: 0.08, beta: 0.9 };
const head: VolatilityModel = { kind: 'lstm_head', window: 20, units: 8 };
const candidates = (g: number, e: number, h: number) => [
  { model: garch, qlike: g },
  { model: RISKMETRICS, qlike: e },
  { model: head, qlike: h },
];

describe('the volatility model is the one with the lowest validation QLIKE', () => {
  test('the head is served when it is lowest, GARCH or EWMA otherwise', () => {
    // the side experiment's NVDA figures: head −3.620, GARCH −3.610, EWMA −3.547
    assert.equal(chooseVolatility(candidates(-3.61, -3.547, -3.62)).kind, 'lstm_head');
    assert.equal(chooseVolatility(candidates(-4.02, -4.0, -3.99)).kind, 'garch');
    assert.equal(chooseVolatility(candidates(-3.5, -3.53, -3.52)).kind, 'ewma');
  });

  test('ties and an undefined score keep the simpler, earlier candidate: the head must be strictly better', () => {
    assert.equal(chooseVolatility(candidates(-4, -4, -4)).kind, 'garch');
    assert.equal(chooseVolatility(candidates(-4, -3, Number.NaN)).kind, 'garch');
    assert.equal(chooseVolatility(candidates(-4, -3, -4)).kind, 'garch');
  });

  test('a calibration that serves the head cannot forecast without the loaded head', () => {
    assert.throws(() => volatilityForecast(head, undefined, [0.01, -0.02], 3), /no head was loaded/);
    assert.equal(volatilityForecast(garch, undefined, [0.01, -0.02], 3).length, 3);
  });
});
