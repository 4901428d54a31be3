import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { selectBackend } from '../../ml/backend.js';
import { walkForward, type WalkForwardResult } from '../../ml/evaluation/walk-forward.js';
import type { TrainingConfig } from '../../ml/types.js';
import { DIR_MODE, writeFileAtomic } from '../../fs/atomic-file.js';
import { modelKey } from '../../model-store/store.js';
import { positiveInt, UsageError, type ParsedArgs } from '../args.js';
import { createProgressView } from '../progress.js';
import { forecastChartSvg } from '../svg-chart.js';
import type { ModelMetadata } from '../../ml/types.js';
import { backendPreference, ensureHistory, freshBars, knownSymbols, trainingConfig, type CliContext } from './context.js';
import { evaluateUnseenCommand } from './evaluate-unseen.js';
import { bandRule, COVERAGE_NOISE_HEADING, coverageNoise, evaluationTable, metricsRow, metricsTable, TABLE_LEGEND, verdict, volatilityChoice } from './report.js';
import { num, pct } from './table.js';

/**
 * `evaluate --all`: one table of every current model's held-out test-split evaluation (served vs raw vs
 * naive, Brier vs constant, coverage per horizon, interval score vs RiskMetrics, volatility loss vs
 * EWMA/GARCH), as stored with the version when it was trained. Nothing is retrained.
 */
async function evaluateAll(ctx: CliContext): Promise<number> {
  const models: ModelMetadata[] = [];
  for (const key of await ctx.store.keys()) {
    if ((await ctx.store.currentVersion(key)) !== null) models.push(await ctx.store.readMetadata(key));
  }
  if (models.length === 0) throw new UsageError(`no models in ${ctx.store.modelsDir}: train them first (train --all)`);
  ctx.out.write(`Test split (held out: never seen by training, scaler or calibration), current version of every model in ${ctx.store.modelsDir}:\n`);
  ctx.out.write(`${metricsTable(models)}\n${TABLE_LEGEND}\n\n`);
  for (const m of models) ctx.out.write(`${verdict(m)}\n`);
  ctx.out.write(`\n${COVERAGE_NOISE_HEADING}\n${coverageNoise(models.map(metricsRow)).join('\n')}\n`);
  ctx.out.write('\nBand rules, chosen per model on validation data only (never the test split):\n');
  for (const m of models) ctx.out.write(`${bandRule(m)}\n`);
  ctx.out.write('\nVolatility models, chosen per model by the lowest validation QLIKE (never the test split; its figures are in the table):\n');
  for (const m of models) ctx.out.write(`${volatilityChoice(m)}\n`);
  return 0;
}

/** Options of one kind of evaluation that another kind would silently ignore are refused instead. */
function refuseOptions(args: ParsedArgs, options: readonly string[], mode: string): void {
  const given = options.filter((o) => args.values[o] !== undefined || args.switches.has(o));
  if (given.length > 0) throw new UsageError(`${given.map((o) => `--${o}`).join(', ')} ${given.length === 1 ? 'does' : 'do'} not apply to ${mode}`);
}

/**
 * `evaluate SYMBOL [--windows N --step N --refit --out PATH]`: a walk-forward backtest with the
 * current model's training configuration (flags override it), printed per window against the
 * baselines, and charted to SVG (default: evaluation.svg in the current version's folder, with the
 * results as evaluation.json beside it). `evaluate --all`: the stored test-split table of every model;
 * `evaluate --unseen [SYMBOL...]`: leave one symbol out (evaluate-unseen.ts).
 */
export async function evaluateCommand(ctx: CliContext, args: ParsedArgs): Promise<number> {
  const [rawSymbol, ...rest] = args.positionals;
  if (args.switches.has('unseen')) {
    if (args.switches.has('all')) throw new UsageError('give --all or --unseen, not both');
    refuseOptions(args, ['windows', 'step', 'out', 'refit'], 'evaluate --unseen');
    return evaluateUnseenCommand(ctx, args);
  }
  refuseOptions(args, ['parallel', 'before'], 'a walk-forward backtest or evaluate --all (only to evaluate --unseen)');
  if (args.switches.has('all')) {
    if (args.positionals.length > 0) throw new UsageError('give a SYMBOL or --all, not both');
    return evaluateAll(ctx);
  }
  if (rawSymbol === undefined || rest.length > 0) throw new UsageError('usage: evaluate SYMBOL [--windows N] [--step N] [--refit] [--out PATH] | evaluate --all | evaluate --unseen [SYMBOL...] [--parallel N] [--before DATE]');
  const windows = positiveInt(args, 'windows', 3);
  const step = positiveInt(args, 'step', 20);
  const refit = args.switches.has('refit');
  const preference = backendPreference(ctx, args);
  await ensureHistory(ctx);
  const [symbol] = await knownSymbols(ctx, [rawSymbol]);
  const key = modelKey(symbol as string);
  const version = await ctx.store.currentVersion(key);
  let stored: Partial<TrainingConfig> = {};
  if (version !== null) stored = (await ctx.store.readMetadata(key, version)).config;
  const config = trainingConfig(ctx, args, stored);
  const out = args.values.out === undefined ? (version === null ? undefined : path.join(ctx.store.versionDir(key, version), 'evaluation.svg')) : path.resolve(args.values.out);
  if (out === undefined) throw new UsageError(`no model for ${symbol} to attach the chart to: train it first, or pass --out PATH`);

  const backend = await selectBackend(preference);
  const bars = await freshBars(ctx, symbol as string);
  const view = createProgressView(ctx.out);
  view.log(`walk-forward ${symbol}: ${windows} windows x ${step} days, ${refit ? 'refit before each window' : 'trained once before the first window'}, backend ${backend}${version ? `, config of ${key} ${version}` : ''}`);
  const result = await walkForward({
    symbol: symbol as string, bars, config, backend, windows, step, refit,
    onProgress: (p) => view.update({ ...p, key: `${key} w${p.window}` }),
  });
  view.close();

  printResult(ctx, result);
  await mkdir(path.dirname(out), { recursive: true, mode: DIR_MODE });
  const chart = forecastChartSvg(result.points, {
    title: `${symbol}: next-day forecast vs actual (walk-forward, ${windows} x ${step} days${refit ? ', refit' : ''})`,
    windowStarts: Array.from({ length: windows - 1 }, (_, k) => (k + 1) * step),
    subtitle: `MAE ${num(result.overall.mae, 3)} vs naive ${num(result.overall.naive_mae, 3)} (ratio ${num(result.overall.mae_ratio, 3)}), 80% coverage ${pct(result.overall.interval_coverage_80)}, backend ${backend}`,
  });
  await writeFileAtomic(out, chart);
  await writeFileAtomic(out.replace(/\.svg$/i, '') + '.json', `${JSON.stringify(result, null, 2)}\n`);
  ctx.out.write(`chart written to ${out}\n`);
  return 0;
}

function printResult(ctx: CliContext, result: WalkForwardResult): void {
  const rows = result.windows.map((w, i) => ({ label: `window ${i + 1} (trained through ${w.trained_through})`, evaluation: w.evaluation, beatsNaive: w.beats_naive }));
  rows.push({ label: 'all windows', evaluation: result.overall, beatsNaive: result.beats_naive });
  ctx.out.write(`\n${evaluationTable(rows, '')}\n${TABLE_LEGEND}\n\n`);
  ctx.out.write(
    result.beats_naive
      ? `${result.symbol}: the served forecast beats the naive last-close forecast over the backtest (ratio ${num(result.overall.mae_ratio, 3)}; raw network ${num(result.overall.lstm_mae_ratio, 3)}).\n`
      : `${result.symbol}: the served forecast does NOT beat the naive last-close forecast over the backtest (ratio ${num(result.overall.mae_ratio, 3)}; raw network ${num(result.overall.lstm_mae_ratio, 3)}).\n`,
  );
}
