import assert from 'node:assert/strict';
import { test } from 'node:test';
import { predictedDirection, scoreForecast } from '../../src/tracking/scoring.js';

const prices = { naive_forecast: 100, lower_80: 95, upper_80: 105, lower_95: 90, upper_95: 110 };

test('the direction a forecast calls: the side probability_up favours on step 1, else the price move (flat is down)', () => {
  // A model without validated skill serves the naive price but still favours a side: its call is that side.
  const flat = { ...prices, forecast: 100, probability_up: 0.53 };
  assert.equal(predictedDirection(flat), 'up');
  assert.equal(scoreForecast(flat, 101).direction_correct, true);
  assert.equal(scoreForecast(flat, 99).direction_correct, false);
  assert.equal(predictedDirection({ ...prices, forecast: 102, probability_up: 0.47 }), 'down', 'the probability decides, not the price');
  assert.equal(predictedDirection({ ...prices, forecast: 100.5, probability_up: null }), 'up');
  assert.equal(predictedDirection({ ...prices, forecast: 100 }), 'down');
});
