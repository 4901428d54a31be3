import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Bar } from '../../market/bar.js';
import { GLOBAL_MODEL_KEY } from '../../ml/types.js';
import { beatsNaive } from '../../ml/evaluation/evaluate.js';
import { trainAll, type TrainingJob } from '../../workers/train-in-worker.js';
import { dateFlag, UsageError, type ParsedArgs } from '../args.js';
import { createProgressView, formatDuration } from '../progress.js';
import { backendPreference, ensureHistory, freshBars, knownSymbols, parallelism, trainingConfig, type CliContext } from './context.js';
import { bandRule, bandStart, COVERAGE_NOISE_HEADING, coverageNoise, evaluationTable, TABLE_LEGEND, type EvaluationRow } from './report.js';

/**
 * `evaluate --unseen [SYMBOL...]`, leave one symbol out: for each SYMBOL (default: every symbol with data) the
 * global model is trained on all the other symbols and scored on SYMBOL's days of the test split, served as the
 * service serves a symbol it has no model for. That symbol's bars reach neither the network, the scaler nor any
 * calibration choice, so the row shows how the calibrated forecasts hold on a symbol that was in no part of the
 * model's development. Each row is printed twice: served (bands started from the symbol's own history
 * before the test split) and "no start" (the same days with the bands as calibrated). The configuration is
 * the current global model's (flags override it); `--before DATE` keeps only bars before DATE (a check of a
 * change on history the shipped models' test split never reaches). The models are trained into a temporary
 * directory and removed: the store is not touched.
 */
export async function evaluateUnseenCommand(ctx: CliContext, args: ParsedArgs): Promise<number> {
  // --before: only bars before that date, e.g. to check a change on history before the shipped models' test split
  const before = dateFlag(args, 'before', false);
  await ensureHistory(ctx);
  const available = await ctx.market.listSymbols();
  const heldOut = [...new Set(args.positionals.length === 0 ? available : await knownSymbols(ctx, args.positionals))];
  const trainedOn = (symbol: string): string[] => available.filter((s) => s !== symbol);
  const alone = heldOut.filter((symbol) => trainedOn(symbol).length === 0);
  if (alone.length > 0) throw new UsageError(`leaving ${alone.join(', ')} out leaves no other symbol with data to train on`);
  const version = await ctx.store.currentVersion(GLOBAL_MODEL_KEY);
  const config = trainingConfig(ctx, args, version === null ? {} : (await ctx.store.readMetadata(GLOBAL_MODEL_KEY, version)).config);
  const backend = backendPreference(ctx, args);
  const bars = new Map<string, Bar[]>();
  for (const symbol of new Set([...available, ...heldOut])) bars.set(symbol, (await freshBars(ctx, symbol)).filter((bar) => before === undefined || bar.date < before));
  const series = (symbols: readonly string[]) => symbols.map((symbol) => ({ symbol, bars: bars.get(symbol) as Bar[] }));
  const label = (symbol: string): string => `global without ${symbol}`;

  const scratch = await mkdtemp(path.join(os.tmpdir(), 'models-unseen-'));
  try {
    // The jobs run side by side and each saves a global model: one store per job keeps their versions apart.
    const jobs: TrainingJob[] = heldOut.map((symbol) => ({
      key: GLOBAL_MODEL_KEY,
      series: series(trainedOn(symbol)),
      unseen: series([symbol]),
      dataSource: ctx.market.name,
      config,
      backend,
      modelsDir: path.join(scratch, symbol, 'ml_models'),
      scalersDir: path.join(scratch, symbol, 'scalers'),
      keepVersions: 1,
    }));
    // Every job's key is the global model's: its one unseen series names it.
    const leftOut = (job: TrainingJob): string => job.unseen?.[0]?.symbol ?? job.key;
    const view = createProgressView(ctx.out);
    view.log(`leave one symbol out: the global model trained without each of ${heldOut.join(', ')} (${version === null ? 'default config' : `config of global ${version}`}, epochs ${config.epochs}, backend ${backend}${before === undefined ? '' : `, bars before ${before} only`})`);
    const started = performance.now();
    const outcomes = await trainAll(jobs, {
      parallel: parallelism(args),
      onProgress: (p, job) => view.update({ ...p, key: label(leftOut(job)) }),
      onOutcome: (o, job) => {
        const symbol = leftOut(job);
        view.finish(label(symbol), `${label(symbol)}: ${o.ok ? `scored (trained on ${o.result.metadata.symbols.join(', ')})` : `FAILED: ${o.error.message}`}`);
      },
    });
    view.close();

    const rows: EvaluationRow[] = outcomes.flatMap((o, i) => {
      const symbol = heldOut[i] as string;
      const scored = o.ok ? o.result.unseen?.[symbol] : undefined;
      if (scored === undefined) return [];
      return [
        { label: `${symbol} (unseen)`, evaluation: scored.evaluation, beatsNaive: beatsNaive(scored.evaluation) },
        { label: `${symbol} no start`, evaluation: scored.as_calibrated, beatsNaive: beatsNaive(scored.as_calibrated) },
      ];
    });
    if (rows.length > 0) {
      ctx.out.write(`\nTest split of each symbol, forecast by the global model trained on the other symbols only\n(\"no start\": the same days with the bands as calibrated, not started from the symbol's own history):\n${evaluationTable(rows, 'symbol')}\n${TABLE_LEGEND}\n`);
      ctx.out.write(`\n${COVERAGE_NOISE_HEADING}\n${coverageNoise(rows).join('\n')}\n`);
      ctx.out.write("\nBand rule and volatility model of each, chosen on the other symbols' validation days:\n");
      outcomes.forEach((o, i) => o.ok && ctx.out.write(`${bandRule({ ...o.result.metadata, key: `without ${heldOut[i] as string}` })}\n`));
      ctx.out.write("\nWhere each symbol's bands started, from its own matured days before the test split (band width multipliers):\n");
      outcomes.forEach((o, i) => o.ok && ctx.out.write(`${bandStart(heldOut[i] as string, o.result.unseen?.[heldOut[i] as string]?.band_start)}\n`));
    }
    ctx.out.write(`total time ${formatDuration((performance.now() - started) / 1000)}\n`);
    outcomes.forEach((o, i) => o.ok || ctx.err.write(`error: ${label(heldOut[i] as string)} failed: ${o.error.message}\n`));
    return outcomes.every((o) => o.ok) ? 0 : 1;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
