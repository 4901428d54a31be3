import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs, UsageError } from '../../../src/cli/args.js';
import { bandRule, evaluationTable } from '../../../src/cli/models/report.js';
import { DEFAULT_BAND_RULE } from '../../../src/ml/calibrate.js';
import type { BandSelection, IntervalWindow, ModelMetadata } from '../../../src/ml/types.js';
import { artifacts } from '../../model-store/fixtures.js';
import { createProgressView, formatDuration } from '../../../src/cli/progress.js';
import { forecastChartSvg } from '../../../src/cli/svg-chart.js';

function sink(isTTY: boolean): { write(t: string): boolean; text: string; isTTY: boolean; columns: number } {
  return { text: '', isTTY, columns: 100, write(t: string) { this.text += t; return true; } };
}

const progress = (key: string, epoch: number) => ({ key, epoch, epochs: 10, loss: 0.5, val_loss: 0.75, eta_seconds: 125 });

describe('progress output', () => {
  it('draws one bar per worker on a terminal, redrawn in place', () => {
    const out = sink(true);
    const view = createProgressView(out);
    view.update(progress('nvda', 5));
    view.update(progress('msft', 1));
    view.close();
    view.finish('nvda', 'nvda saved v1');
    assert.match(out.text, /nvda   \[#{20}-{20}\]  5\/10 loss 0\.5000 val 0\.7500 ETA 2m05s/);
    assert.match(out.text, /msft   \[#{4}-{36}\]  1\/10/);
    // Redraws move the cursor back up over the two bars instead of scrolling.
    assert.ok(out.text.includes('\x1b[2A'));
    const lastDrawing = out.text.slice(out.text.lastIndexOf('\x1b[2A'));
    assert.match(lastDrawing, /^\x1b\[2A\r\x1b\[2Knvda saved v1\n\x1b\[2Kmsft   \[/);
  });

  it('prints plain lines without a terminal', () => {
    const out = sink(false);
    const view = createProgressView(out);
    view.update(progress('nvda', 5));
    view.finish('nvda', 'nvda saved v1');
    view.close();
    assert.equal(out.text, 'nvda epoch 5/10 loss=0.5000 val_loss=0.7500 eta=2m05s\nnvda saved v1\n');
    assert.ok(!out.text.includes('\x1b'));
  });

  it('formats durations', () => {
    assert.deepEqual([formatDuration(2.345), formatDuration(59.6), formatDuration(3725), formatDuration(NaN)], ['2.3s', '1m00s', '1h02m', '--']);
  });
});

describe('argument parsing', () => {
  const spec = { values: ['epochs', 'out'], switches: ['all'] };
  it('takes --name value, --name=value and switches', () => {
    const args = parseArgs(['NVDA', '--epochs', '3', '--out=x.svg', '--all', 'MSFT'], spec);
    assert.deepEqual(args.positionals, ['NVDA', 'MSFT']);
    assert.deepEqual(args.values, { epochs: '3', out: 'x.svg' });
    assert.ok(args.switches.has('all'));
  });
  it('refuses unknown, valueless, repeated and malformed flags', () => {
    for (const argv of [['--bogus'], ['--epochs'], ['--epochs', '--all'], ['--epochs', '1', '--epochs', '2'], ['--all=yes'], ['-x']]) {
      assert.throws(() => parseArgs(argv, spec), UsageError, argv.join(' '));
    }
  });
});

describe('forecast chart', () => {
  const points = Array.from({ length: 30 }, (_, i) => ({
    date: `2025-01-${String(i + 1).padStart(2, '0')}`,
    actual: 100 + Math.sin(i) * 5,
    predicted: 100 + Math.sin(i - 1) * 5,
    lower_80: 95 + Math.sin(i - 1) * 5,
    upper_80: 105 + Math.sin(i - 1) * 5,
    naive: 100 + Math.sin(i - 1) * 5.2,
  }));

  it('draws the band, the forecast, the actual and the naive line inside the plot', () => {
    const svg = forecastChartSvg(points, { title: 'T <&> "q"', width: 800, height: 400 });
    assert.match(svg, /<title>T &lt;&amp;&gt; &quot;q&quot;<\/title>/);
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1] as string);
    assert.equal(paths.length, 4);
    assert.ok(paths[0]?.endsWith('Z'));
    const coords = paths.flatMap((d) => [...d.matchAll(/[ML]([\d.]+),([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const));
    assert.equal(coords.length, 30 * 2 + 30 * 3);
    for (const [x, y] of coords) {
      assert.ok(x >= 72 && x <= 800 - 24, `x ${x}`);
      assert.ok(y >= 56 && y <= 400 - 64, `y ${y}`);
    }
    assert.ok(svg.includes('2025-01-01') && svg.includes('2025-01-30'));
  });

  it('marks where each backtest window starts', () => {
    const svg = forecastChartSvg(points, { title: 't', windowStarts: [10, 20] });
    assert.equal([...svg.matchAll(/stroke-dasharray="2 3"/g)].length, 2);
    assert.match(svg, />window 2</);
    assert.match(svg, />window 3</);
  });

  it('refuses an empty series', () => {
    assert.throws(() => forecastChartSvg([], { title: 'x' }), RangeError);
  });
});

describe('evaluation table', () => {
  it('one column per horizon label across all rows; a step a row has no realised day for is n/a', () => {
    const score = (steps: string, coverage: number) => ({
      steps, count: 10, coverage_80: coverage, coverage_95: 0.95, interval_score_80: 1, interval_score_95: 2,
      riskmetrics_coverage_80: 0.8, riskmetrics_coverage_95: 0.95, riskmetrics_interval_score_80: 1.5, riskmetrics_interval_score_95: 2.5,
    });
    const evaluation = (horizons: ReturnType<typeof score>[]) => ({
      mae: 1, naive_mae: 1, mae_ratio: 1, naive_dm_p_value: 1, rmse: 1, naive_rmse: 1, mape: 1, naive_mape: 1, drift_mae: 1, moving_average_mae: 1,
      hit_rate: 0.5, always_up_hit_rate: 0.5, interval_coverage_80: 0.8, interval_coverage_95: 0.95, change_correlation: 0,
      test_from: '2025-01-02', test_to: '2025-01-15', test_days: 10, lstm_mae: 1.01, lstm_mae_ratio: 1.01, brier: 0.25, base_rate_brier: 0.25, base_rate: 0.5,
      reliability: [], horizons, volatility_model: 'garch' as const, volatility_qlike: -8, ewma_qlike: -7.9, garch_qlike: -8,
    });
    const text = evaluationTable([
      { label: 'window 1', evaluation: evaluation([score('1', 0.7), score('1..60', 0.75)]), beatsNaive: false },
      { label: 'all windows', evaluation: evaluation([score('1', 0.8), score('20', 0.9), score('1..60', 0.85)]), beatsNaive: false },
    ]);
    assert.match(text, /cov80 1\/20\/1\.\.60/);
    assert.match(text, /^window 1 .* 70\.0\/n\/a\/75\.0 /m);
    assert.match(text, /^all windows .* 80\.0\/90\.0\/85\.0 /m);
  });
});

describe('band rule report', () => {
  const candidate = (window: IntervalWindow, rate: number, divide_by_step: boolean, selection_score: number, t_vs_default: number) =>
    ({ window, rate, divide_by_step, interval_score: 50, interval_score_step_1: 10, selection_score, coverage_80: 0.8, coverage_95: 0.95, t_vs_default });
  const candidates = [candidate('student_t', 0, false, 1.99, 2.5), candidate('student_t', 0.03, true, 2.01, 0), candidate('validation', 0.01, true, 1.95, 1.5)];
  const model = (default_test: BandSelection['default_test'], rule: { rate: number; divide_by_step: boolean }): ModelMetadata => {
    const { metadata } = artifacts('nvda', 1);
    const band_selection = { fit_days: 300, selection_days: 240, ...(default_test === undefined ? {} : { default_test }), candidates };
    return { ...metadata, version: 'v1', scaler_sha256: 'x', calibration: { ...metadata.calibration, interval_window: 'student_t', adaptive_rule: rule, band_selection } };
  };

  it('compares the challengers with the default the model was tested against, named from its metadata', () => {
    const line = bandRule(model({ rule: DEFAULT_BAND_RULE, batch_days: 120, degrees_of_freedom: 0 }, { rate: 0.03, divide_by_step: true }));
    assert.match(line, /adaptive step 0\.03 \/ horizon step per matured outcome/);
    assert.match(line, /default \(student_t 0\.03\/h\) 2\.010; lowest-scoring challenger validation 0\.01\/h 1\.950, but too few days/);
  });

  it('with a test possible, names the challenger with the largest t against the default and the t it needed', () => {
    const line = bandRule(model({ rule: DEFAULT_BAND_RULE, batch_days: 4, degrees_of_freedom: 66, critical_t: 3.5 }, { rate: 0.03, divide_by_step: true }));
    assert.match(line, /default \(student_t 0\.03\/h\) 2\.010; strongest challenger student_t 1\.990 at t 2\.50 \(needed over 3\.5, 66 degrees of freedom in 4-day batches\)/);
  });

  it('a model saved while the default had no adaptive step is described against that default', () => {
    const line = bandRule(model({ batch_days: 120, degrees_of_freedom: 0 }, { rate: 0, divide_by_step: false }));
    assert.match(line, /no adaptive step/);
    assert.match(line, /default \(student_t\) 1\.990; lowest-scoring challenger validation 0\.01\/h 1\.950/);
  });
});
