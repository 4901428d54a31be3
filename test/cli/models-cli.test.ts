import assert from 'node:assert/strict';
import { access, copyFile, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ModelMetadata } from '../../src/ml/types.js';
import { dataRoot, runCli, TINY, type CliResult } from './run-cli.js';

const versionIn = (text: string): string => {
  const match = /saved (v\d{8}T\d{6}Z(?:-\d+)?)/.exec(text);
  assert.ok(match, `no saved version in:\n${text}`);
  return match[1] as string;
};

async function currentOf(root: string, key: string): Promise<string> {
  return (await readFile(path.join(root, 'ml_models', `${key}_lstm_model`, 'CURRENT'), 'utf8')).trim();
}

async function metadataOf(root: string, key: string, version: string): Promise<ModelMetadata> {
  return JSON.parse(await readFile(path.join(root, 'ml_models', `${key}_lstm_model`, version, 'metadata.json'), 'utf8')) as ModelMetadata;
}

describe('models CLI', () => {
  it('trains, lists, retrains, rolls back and promotes a symbol model', async () => {
    const root = await dataRoot(['NVDA', 'MSFT']);
    const env = { PERSISTENT_DATA_PATH: root };

    const first = await runCli(['train', 'NVDA', ...TINY], env);
    assert.equal(first.code, 0, first.stderr);
    const v1 = versionIn(first.stdout);
    // Not a terminal: plain progress lines, then the test-split metrics against naive and a verdict.
    assert.match(first.stdout, /^nvda epoch 1\/2 loss=\d+\.\d+ val_loss=\d+\.\d+ eta=/m);
    assert.match(first.stdout, /mae\s+lstm_mae\s+naive_mae\s+mae_ratio\s+lstm_ratio\s+dm_p\s+brier\s+const_brier\s+cov80 1\/5\/20\/60\/1\.\.60\s+cov95 .*\s+is80\s+rm_is80\s+is95\s+rm_is95\s+vol\s+qlike\s+ewma_qlike\s+garch_qlike\s+head_qlike\s+beats_naive/);
    assert.match(first.stdout, /nvda: (beats|does NOT beat) the naive last-close forecast/);
    assert.equal(await currentOf(root, 'nvda'), v1);
    const meta1 = await metadataOf(root, 'nvda', v1);
    assert.deepEqual([meta1.config.epochs, meta1.config.units, meta1.config.maxBars], [2, 8, 400]);
    assert.equal(meta1.evaluation.mae_ratio, meta1.evaluation.mae / meta1.evaluation.naive_mae);

    // evaluate --all: the stored test-split figures of every current model, in one table
    const all = await runCli(['evaluate', '--all'], env);
    assert.equal(all.code, 0, all.stderr);
    const e = meta1.evaluation;
    const row = all.stdout.split('\n').find((line) => line.startsWith(`nvda ${v1} `)) ?? '';
    const pooled = e.horizons.at(-1);
    for (const figure of [e.mae, e.lstm_mae, e.naive_mae, e.brier, e.base_rate_brier, e.volatility_qlike, e.ewma_qlike, e.garch_qlike, e.head_qlike ?? Number.NaN].map((v) => v.toFixed(4))) {
      assert.ok(row.includes(` ${figure} `), `${figure} in ${row}`);
    }
    assert.ok(row.includes(e.horizons.map((h) => (100 * h.coverage_80).toFixed(1)).join('/')), row);
    assert.ok(row.includes(` ${pooled?.interval_score_80.toFixed(3)}  ${pooled?.riskmetrics_interval_score_80.toFixed(3)} `), row);
    // the volatility choice with the validation QLIKE it was made on (the test split's figures are the table's)
    const v = meta1.calibration.volatility_selection;
    assert.ok(all.stdout.includes(`nvda: volatility ${meta1.calibration.volatility.kind}; validation QLIKE: LSTM head ${v.head_qlike?.toFixed(4)}, EWMA ${v.ewma_qlike.toFixed(4)}, GARCH(1,1) ${v.garch_qlike.toFixed(4)}.`), all.stdout);
    assert.equal((await runCli(['evaluate', 'NVDA', '--all'], env)).code, 2);

    const status = await runCli(['status'], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^nvda\\s+${v1}\\s`, 'm'));
    assert.match(status.stdout, /symbols with data but no model of their own: MSFT \(no global model either\)/);
    // A ticker spelled GLOBAL is an ordinary symbol: without a model of its own (`_global`), it is listed too.
    await copyFile(path.join(root, 'stock_data', 'historical', 'MSFT.csv'), path.join(root, 'stock_data', 'historical', 'GLOBAL.csv'));
    assert.match((await runCli(['status'], env)).stdout, /symbols with data but no model of their own: GLOBAL, MSFT \(no global model either\)/);

    // Training options from the environment (TRAIN_*) as well as flags.
    const second = await runCli(['train', 'nvda', '--max-bars', '400'], { ...env, TRAIN_EPOCHS: '1', TRAIN_UNITS: '6' });
    assert.equal(second.code, 0, second.stderr);
    const v2 = versionIn(second.stdout);
    assert.notEqual(v2, v1);
    assert.equal(await currentOf(root, 'nvda'), v2);
    assert.deepEqual([(await metadataOf(root, 'nvda', v2)).config.epochs, (await metadataOf(root, 'nvda', v2)).config.units], [1, 6]);

    const list = await runCli(['list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^\\*\\s+nvda\\s+${v2}\\s`, 'm'));
    assert.match(list.stdout, new RegExp(`^\\s+nvda\\s+${v1}\\s`, 'm'));

    const rollback = await runCli(['rollback', 'NVDA'], env);
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(rollback.stdout, new RegExp(`rolled back ${v2} -> ${v1}`));
    assert.equal(await currentOf(root, 'nvda'), v1);
    assert.match((await runCli(['status'], env)).stdout, new RegExp(`^nvda\\s+${v1}\\s`, 'm'));

    const promote = await runCli(['promote', 'nvda', v2], env);
    assert.equal(promote.code, 0, promote.stderr);
    assert.equal(await currentOf(root, 'nvda'), v2);

    // A corrupted version is refused by promote, naming the file; the pointer does not move.
    const weights = path.join(root, 'ml_models', 'nvda_lstm_model', v1, 'weights.bin');
    await writeFile(weights, 'not weights');
    const refused = await runCli(['promote', 'nvda', v1], env);
    assert.equal(refused.code, 1);
    assert.ok(refused.stderr.includes(weights), refused.stderr);
    assert.equal(await currentOf(root, 'nvda'), v2);
  });

  it('trains every symbol and the global model with --all, two workers at a time', async () => {
    const root = await dataRoot(['AAPL', 'SPY']);
    const result = await runCli(['train', '--all', '--parallel', '2', '--epochs', '1', '--units', '4', '--max-bars', '400'], { PERSISTENT_DATA_PATH: root });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /training global, aapl, spy \(2 at a time/);
    const keys = (await readdir(path.join(root, 'ml_models'))).sort();
    assert.deepEqual(keys, ['aapl_lstm_model', 'global_lstm_model', 'spy_lstm_model']);
    const global = await metadataOf(root, 'global', await currentOf(root, 'global'));
    assert.deepEqual([...global.symbols].sort(), ['AAPL', 'SPY']);
    assert.equal(global.data.bars, 800);
  });

  it('evaluate --unseen scores each symbol with a global model trained without it, and leaves the store as it was', async () => {
    const root = await dataRoot(['NVDA', 'MSFT', 'AAPL']);
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'unseen-tmp-'));
    // a symbol named twice is left out once
    const result = await runCli(['evaluate', '--unseen', 'AAPL', 'msft', 'aapl', '--parallel', '2', '--before', '2025-06-01', ...TINY], { PERSISTENT_DATA_PATH: root, TMPDIR: scratch });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /the global model trained without each of AAPL, MSFT \(default config, epochs 2.*, bars before 2025-06-01 only\)/);
    assert.match(result.stdout, /^global without AAPL: scored \(trained on MSFT, NVDA\)$/m);
    assert.match(result.stdout, /^global without MSFT: scored \(trained on AAPL, NVDA\)$/m);
    // one row per left-out symbol over the same test days, with the columns
    const rows = result.stdout.split('\n').filter((line) => / \(unseen\) /.test(line));
    assert.deepEqual(rows.map((line) => line.split(' ')[0]), ['AAPL', 'MSFT']);
    const splits = rows.map((line) => /\d{4}-\d{2}-\d{2}\.\.(\d{4}-\d{2}-\d{2})/.exec(line));
    assert.ok(splits[0] !== null && splits[0]?.[0] === splits[1]?.[0], rows.join('\n'));
    assert.ok((splits[0]?.[1] ?? '') < '2025-06-01', 'no bar from --before on is used');
    // beside each, the same days with the bands as calibrated, and where its bands started
    assert.deepEqual(result.stdout.split('\n').filter((line) => / no start /.test(line)).map((line) => line.split(' ')[0]), ['AAPL', 'MSFT']);
    assert.match(result.stdout, /^AAPL: 80 % ×[\d.]+ ×[\d.]+ /m);
    assert.match(result.stdout, /^symbol\s+test split\s+days\s+mae\s+lstm_mae\s+naive_mae\s+mae_ratio/m);
    // the band rule and volatility model each model without a symbol serves it with
    assert.match(result.stdout, /^without AAPL: bands: .+; volatility (ewma|garch|lstm_head)\.$/m);
    assert.deepEqual(await readdir(path.join(root, 'ml_models')).catch(() => []), []);
    assert.deepEqual(await readdir(scratch), [], 'the temporary models are removed');
  });

  it('evaluate prints the backtest against the baselines and writes a real SVG chart', async () => {
    const root = await dataRoot(['TSLA']);
    const env = { PERSISTENT_DATA_PATH: root };
    const trained = await runCli(['train', 'TSLA', ...TINY], env);
    assert.equal(trained.code, 0, trained.stderr);
    const version = versionIn(trained.stdout);
    const result = await runCli(['evaluate', 'TSLA', '--windows', '2', '--step', '10', '--refit'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /window 1 \(trained through \d{4}-\d\d-\d\d\)/);
    assert.match(result.stdout, /window 2 .* (yes|NO)$/m);
    assert.match(result.stdout, /all windows/);
    assert.match(result.stdout, /brier\s+const_brier\s+cov80 1\/5\/1\.\.60\s/, 'the walk-forward reports the same columns per window');
    const svgFile = path.join(root, 'ml_models', 'tsla_lstm_model', version, 'evaluation.svg');
    assert.ok(result.stdout.includes(svgFile));
    const svg = await readFile(svgFile, 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /Naive \(last close\)/);
    assert.match(svg, /80% interval/);
    const lines = [...svg.matchAll(/<path d="M([^"]+)"/g)].map((m) => m[1] as string);
    // band + naive + actual + forecast, each over all 20 backtest days.
    assert.equal(lines.length, 4);
    for (const d of lines.slice(1)) assert.equal(d.split('L').length, 20);
    const json = JSON.parse(await readFile(svgFile.replace(/\.svg$/, '.json'), 'utf8')) as { points: unknown[]; windows: unknown[] };
    assert.equal(json.points.length, 20);
    assert.equal(json.windows.length, 2);
    // The chart beside the model does not break the version's checksums.
    assert.equal((await runCli(['promote', 'tsla', version], env)).code, 0);

    const out = path.join(root, 'elsewhere', 'chart.svg');
    const again = await runCli(['evaluate', 'tsla', '--windows', '1', '--step', '5', '--out', out], env);
    assert.equal(again.code, 0, again.stderr);
    await access(out);
  });

  it('refuses bad input with exit status 2, one clear line, and nothing written', async () => {
    const root = await dataRoot(['NVDA']);
    const env = { PERSISTENT_DATA_PATH: root };
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['frobnicate'], {}, /unknown command "frobnicate"/],
      [['train', 'ZZZZ', ...TINY], {}, /unknown symbol ZZZZ/],
      [['train', 'NVDA', '--epochs', 'many'], {}, /--epochs: invalid value "many"/],
      [['train', 'NVDA', '--epochs', '0'], {}, /--epochs/],
      [['train', 'NVDA', '--dropout', '2'], {}, /--dropout/],
      [['train', 'NVDA', '--batch-size', '-3'], {}, /--batch-size/],
      [['train', 'NVDA', '--epoch', '2'], {}, /unknown option --epoch/],
      [['train', 'NVDA', '--epochs'], {}, /--epochs needs a value/],
      [['train'], {}, /at least one SYMBOL, or --all/],
      [['train', 'NVDA', '--all'], {}, /not both/],
      [['train', 'NVDA', '--backend', 'gpu'], {}, /--backend must be one of/],
      [['train', 'NVDA'], { TRAIN_EPOCHS: 'lots' }, /TRAIN_EPOCHS/],
      [['train', 'NVDA', '--max-bars', '100'], {}, /needs at least|too little history/],
      [['evaluate', 'NVDA', '--windows', '0'], {}, /--windows must be a positive integer/],
      [['evaluate', 'NVDA'], {}, /no model for NVDA/],
      [['evaluate', '--unseen', '--all'], {}, /--all or --unseen, not both/],
      [['evaluate', '--unseen', 'ZZZZ'], {}, /unknown symbol ZZZZ/],
      [['evaluate', '--unseen', '--windows', '2'], {}, /--windows does not apply to evaluate --unseen/],
      [['evaluate', '--unseen', 'NVDA'], {}, /leaving NVDA out leaves no other symbol with data to train on/],
      [['evaluate', 'NVDA', '--parallel', '2'], {}, /--parallel does not apply/],
      [['evaluate', '--all', '--before', '2024-01-01'], {}, /--before does not apply/],
      [['evaluate', '--unseen', '--before', '2024-13-01'], {}, /--before must be a date YYYY-MM-DD/],
      [['promote', 'nvda'], {}, /usage: promote KEY VERSION/],
      [['promote', 'nvda', 'v20200101T000000Z'], {}, /no version v20200101T000000Z|no model/],
      [['promote', 'nvda', '../../etc'], {}, /invalid model version/],
      [['rollback', '../x'], {}, /invalid model key/],
      [['status'], { TFJS_BACKEND: 'gpu' }, /TFJS_BACKEND/],
    ];
    // Four child processes at a time: the cases write nothing, so they cannot interfere.
    const results: CliResult[] = [];
    for (let i = 0; i < cases.length; i += 4) {
      results.push(...(await Promise.all(cases.slice(i, i + 4).map(([args, extraEnv]) => runCli(args, { ...env, ...extraEnv })))));
    }
    for (const [i, [args, , message]] of cases.entries()) {
      const result = results[i] as CliResult;
      assert.equal(result.code, 2, `${args.join(' ')}: exit ${result.code}\n${result.stderr}`);
      const lines = result.stderr.trim().split('\n').filter((l) => l.startsWith('error:'));
      assert.equal(lines.length, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(lines[0] as string, message);
    }
    const modelDirs = await readdir(path.join(root, 'ml_models')).catch(() => []);
    assert.deepEqual(modelDirs, []);
  });
});
