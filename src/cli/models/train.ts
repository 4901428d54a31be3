import { AppError } from '../../errors.js';
import type { Bar } from '../../market/bar.js';
import { GLOBAL_MODEL_KEY, symbolModelKey, type ModelMetadata } from '../../ml/types.js';
import { trainAll, type TrainingJob, type TrainingOutcome } from '../../workers/train-in-worker.js';
import { UsageError, type ParsedArgs } from '../args.js';
import { createProgressView, formatDuration } from '../progress.js';
import { backendPreference, ensureHistory, freshBars, knownSymbols, parallelism, trainingConfig, type CliContext } from './context.js';
import { metricsTable, TABLE_LEGEND, verdict } from './report.js';
import { num } from './table.js';

/**
 * `train SYMBOL... | --all`: one worker per model, `--parallel` at a time. `--all` trains every
 * symbol with data plus the global model (on all of them); `global` may also be named explicitly.
 * Returns the exit code: 0 when every model trained, 1 otherwise.
 */
export async function trainCommand(ctx: CliContext, args: ParsedArgs): Promise<number> {
  const all = args.switches.has('all');
  if (all && args.positionals.length > 0) throw new UsageError('give symbols or --all, not both');
  if (!all && args.positionals.length === 0) throw new UsageError('train needs at least one SYMBOL, or --all');
  const config = trainingConfig(ctx, args);
  const backend = backendPreference(ctx, args);
  const parallel = parallelism(args);
  await ensureHistory(ctx);

  const available = await ctx.market.listSymbols();
  const wantsGlobal = all || args.positionals.some((p) => p.toLowerCase() === GLOBAL_MODEL_KEY);
  const symbols = all ? available : await knownSymbols(ctx, args.positionals.filter((p) => p.toLowerCase() !== GLOBAL_MODEL_KEY));
  if (wantsGlobal && available.length === 0) throw new UsageError(`no symbols with data in ${ctx.config.layout.historical}`);
  const { layout } = ctx.config;
  // Every symbol's bars are read once, through the service's provider, and handed to the workers; a symbol
  // whose bars cannot be read fails its own models only.
  const bars = new Map<string, Bar[]>();
  const unreadable: TrainingOutcome[] = [];
  for (const symbol of new Set([...(wantsGlobal ? available : []), ...symbols])) {
    try {
      bars.set(symbol, await freshBars(ctx, symbol));
    } catch (error) {
      unreadable.push({ key: symbolModelKey(symbol), ok: false, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }
  const series = (jobSymbols: readonly string[]) => jobSymbols.flatMap((symbol) => (bars.has(symbol) ? [{ symbol, bars: bars.get(symbol) as Bar[] }] : []));
  const job = (key: string, jobSymbols: readonly string[]): TrainingJob => ({
    key, series: series(jobSymbols), dataSource: ctx.market.name, config, backend,
    modelsDir: layout.mlModels, scalersDir: layout.scalers, keepVersions: ctx.store.keepVersions,
  });
  // The global model takes longest, so it starts first and the symbol models share the other cores.
  const jobs = [...(wantsGlobal ? [job(GLOBAL_MODEL_KEY, available)] : []), ...[...new Set(symbols)].filter((s) => bars.has(s)).map((s) => job(symbolModelKey(s), [s]))];

  const view = createProgressView(ctx.out);
  view.log(`training ${jobs.map((j) => j.key).join(', ')} (${Math.min(parallel, jobs.length)} at a time, backend ${backend}, epochs ${config.epochs}, window ${config.window}, units ${config.units}, layers ${config.layers}, horizon ${config.horizon}, batch ${config.batchSize}, patience ${config.patience}, max bars ${config.maxBars || 'all'}) into ${layout.mlModels}`);
  const started = performance.now();
  const outcomes = await trainAll(jobs, {
    parallel,
    onProgress: (p) => view.update(p),
    onOutcome: (o) => {
      if (o.ok) {
        const m = o.result.metadata;
        view.finish(o.key, `${o.key} saved ${o.result.version} on ${m.backend}: ${m.timings.epochs_run} epochs in ${formatDuration(m.timings.train_seconds)} (${num(m.timings.samples_per_second, 0)} samples/s), mae_ratio ${num(m.evaluation.mae_ratio, 3)}`);
      } else {
        view.finish(o.key, `${o.key} FAILED: ${o.error.message}`);
      }
    },
  });
  view.close();
  outcomes.push(...unreadable);

  const trained: ModelMetadata[] = outcomes.flatMap((o) => (o.ok ? [o.result.metadata] : []));
  const out = (line: string): void => void ctx.out.write(`${line}\n`);
  out('');
  if (trained.length > 0) {
    out('Test split (held out: never seen by training, scaler or calibration), next-day forecasts:');
    out(metricsTable(trained));
    out(TABLE_LEGEND);
    out('');
    for (const m of trained) out(verdict(m));
  }
  out(`total time ${formatDuration((performance.now() - started) / 1000)}`);
  const failed = outcomes.filter((o) => !o.ok);
  for (const f of failed) if (!f.ok) ctx.err.write(`error: training ${f.key} failed: ${f.error.message}\n`);
  if (failed.length === 0) return 0;
  // Training refused for bad input (e.g. too few bars for the window and horizon asked for) is a usage error.
  return failed.every((f) => !f.ok && f.error instanceof AppError && f.error.status < 500) ? 2 : 1;
}
