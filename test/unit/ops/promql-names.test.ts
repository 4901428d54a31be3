import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metricNames } from '../../ops/promql-names.js';

test('metricNames finds metrics, not functions, labels, keywords or numbers', () => {
  assert.deepEqual(
    metricNames('sum by (le, route) (rate(http_request_duration_seconds_bucket{job="x",route!="/metrics"}[5m])) > 1e3'),
    ['http_request_duration_seconds_bucket'],
  );
  assert.deepEqual(metricNames('redis_configured{job="a"} == 1 and redis_up == 0'), ['redis_configured', 'redis_up']);
  assert.deepEqual(metricNames('(time() - model_trained_timestamp_seconds) / 86400 > 30 * 86400'), ['model_trained_timestamp_seconds']);
  assert.deepEqual(metricNames('(sum(rate(a_total{s=~"5.."}[5m])) or vector(0)) / sum(rate(a_total[5m]))'), ['a_total']);
});
