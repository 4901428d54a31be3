/**
 * `npm run tracking -- <command>`: fill and read the prediction-tracking store without the service.
 * Exit status: 0 done, 1 failed, 2 bad input.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isTradingDay } from '../calendar/nyse.js';
import { ConfigError, loadConfig, type AppConfig } from '../config/env.js';
import { packageRoot } from '../config/package-root.js';
import { errorMessage } from '../errors.js';
import { marketDataConfig } from '../config/market-data.js';
import { createMarketDataProvider } from '../market/factory.js';
import type { MarketDataProvider } from '../market/provider.js';
import { seedHistorical } from '../market/seed.js';
import { selectBackend } from '../ml/backend.js';
import { GLOBAL_MODEL_KEY, symbolModelKey, symbolOfModelKey, type Forecaster } from '../ml/types.js';
import { ModelStore } from '../model-store/store.js';
import { tradingSignal } from '../server/prediction-body.js';
import { dailyRunBody } from '../server/tracking-schemas.js';
import { accuracyBy, type GroupBy } from '../tracking/accuracy.js';
import { backfill } from '../tracking/backfill.js';
import { runDaily, type TrackingDeps } from '../tracking/daily-run.js';
import { openTrackingStore } from '../tracking/open.js';
import type { TrackingStore } from '../tracking/store.js';
import { dateFlag, parseArgs, positiveInt, UsageError, type ArgSpec, type ParsedArgs } from './args.js';
import { num, pct, table } from './models/table.js';
import type { OutputStream } from './progress.js';

const USAGE = `usage: tracking <command> [options]

commands:
  backfill --from DATE --to DATE   replay the daily run over past sessions with the current models, each day seeing
                                   only the bars known then; rows are marked backfilled, then matured ones scored
  daily-run [--date DATE]          one daily run (default: the last bar's date) [--force: also on a closed day]
  accuracy                         out-of-sample accuracy of matured forecasts against the naive forecast
                                   [--from DATE --to DATE (target days)] [--group-by symbol|horizon|model|date|source]
                                   [--horizon N (only step N)] [--include-in-sample]

options: --symbols A,B (default: every symbol with a model of its own)   --horizon-steps N (recorded steps,
default DAILY_PREDICTION_HORIZON)

DATABASE_URL (PostgreSQL) or PERSISTENT_DATA_PATH (SQLite in stock_data/predictions/) decides the store.`;

interface Context {
  readonly config: AppConfig;
  readonly store: TrackingStore;
  readonly out: OutputStream;
  readonly err: OutputStream;
}

/** Forecasters straight from the model store (the symbol's own model, else the global one), loaded once each. */
async function storeDeps(ctx: Context, args: ParsedArgs): Promise<{ deps: TrackingDeps; symbols: string[]; market: MarketDataProvider; close(): void }> {
  const { config } = ctx;
  await selectBackend(config.tfjsBackend);
  const models = new ModelStore({ modelsDir: config.layout.mlModels, scalersDir: config.layout.scalers, keepVersions: config.modelKeepVersions });
  // The service's provider: with DATA_SOURCE=yahoo a symbol first seen through Yahoo is tracked on its stored bars.
  const market = createMarketDataProvider(marketDataConfig(config));
  // A fresh install works like the service's first start: shipped sample prices and models are copied into an empty tree.
  await seedHistorical({ historicalDir: config.layout.historical, sampleDir: path.join(packageRoot, 'data', 'sample') });
  await models.seedFrom(path.join(packageRoot, 'models'));
  const keys = new Set(await models.keys());
  const requested = args.values.symbols?.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s.length > 0);
  const symbols =
    requested ??
    (config.dailyPrediction.symbols.length > 0 ? [...config.dailyPrediction.symbols] : [...keys].flatMap((k) => symbolOfModelKey(k) ?? []).sort());
  const loaded = new Map<string, Forecaster>();
  for (const symbol of symbols) {
    const key = keys.has(symbolModelKey(symbol)) ? symbolModelKey(symbol) : GLOBAL_MODEL_KEY;
    if (!keys.has(key)) throw new UsageError(`no model for ${symbol} and no global model in ${config.layout.mlModels}`);
    if (!loaded.has(key)) loaded.set(key, await models.loadForecaster(key));
  }
  const deps: TrackingDeps = {
    store: ctx.store,
    market,
    acquire: (symbol) => {
      const own = symbolModelKey(symbol);
      const key = loaded.has(own) ? own : GLOBAL_MODEL_KEY;
      const forecaster = loaded.get(key);
      return forecaster ? { key, forecaster, release: () => undefined } : undefined;
    },
    signal: (current, predicted) => tradingSignal(current, predicted, { buy: config.buyThreshold, sell: config.sellThreshold }),
    horizon: positiveInt(args, 'horizon-steps', config.dailyPrediction.horizon),
  };
  return { deps, symbols, market, close: () => loaded.forEach((f) => f.dispose()) };
}

async function backfillCommand(ctx: Context, args: ParsedArgs): Promise<number> {
  const from = dateFlag(args, 'from', true) as string;
  const to = dateFlag(args, 'to', true) as string;
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  const { deps, symbols, close } = await storeDeps(ctx, args);
  try {
    const run = await backfill(deps, {
      from,
      to,
      symbols,
      onSymbol: (symbol, r) =>
        ctx.out.write(`${symbol}: ${r.issued} forecast steps, ${r.recorded} new, ${r.scored} scored${r.error ? `, FAILED: ${r.error}` : ''}\n`),
    });
    ctx.out.write(`backfill ${from}..${to}: ${run.status}, ${run.recorded_forecasts} rows written, ${run.scored_forecasts} scored in ${(Number(run.execution_duration_ms) / 1000).toFixed(1)} s\n`);
    return run.status === 'failed' ? 1 : 0;
  } finally {
    close();
  }
}

async function dailyRunCommand(ctx: Context, args: ParsedArgs): Promise<number> {
  const { deps, symbols, market, close } = await storeDeps(ctx, args);
  try {
    let date = dateFlag(args, 'date', false);
    if (date === undefined) {
      const bars = await market.getBars(symbols[0] ?? 'SPY', { fresh: true });
      date = bars[bars.length - 1]?.date ?? '';
    }
    const force = args.switches.has('force');
    if (!isTradingDay(date) && !force) ctx.err.write(`${date} was not a trading day: nothing to do (--force runs anyway)\n`);
    const run = await runDaily(deps, { date, symbols, type: 'manual', force });
    ctx.out.write(`${JSON.stringify(dailyRunBody(run))}\n`);
    return run.status === 'failed' ? 1 : 0;
  } finally {
    close();
  }
}

const GROUPS: readonly GroupBy[] = ['symbol', 'horizon', 'model', 'date', 'source'];

async function accuracyCommand(ctx: Context, args: ParsedArgs): Promise<number> {
  const by = (args.values['group-by'] ?? 'symbol') as GroupBy;
  if (!GROUPS.includes(by)) throw new UsageError(`--group-by must be one of ${GROUPS.join(', ')}`);
  const horizon = args.values.horizon === undefined ? undefined : positiveInt(args, 'horizon', 1);
  const symbols = args.values.symbols?.split(',').map((s) => s.trim().toUpperCase());
  const rows = await ctx.store.query({
    symbols,
    targetFrom: dateFlag(args, 'from', false),
    targetTo: dateFlag(args, 'to', false),
    matured: true,
    includeInSample: args.switches.has('include-in-sample'),
    horizons: horizon === undefined ? undefined : [horizon],
  });
  const groups = accuracyBy(rows, by);
  const n = (v: number | null, d = 4) => num(v ?? undefined, d);
  const p = (v: number | null) => pct(v ?? undefined);
  ctx.out.write(
    `${table(
      [by, 'matured', 'live', 'backfilled', 'MAE', 'naive MAE', 'MAE ratio', 'hit rate', 'always up', 'cov 80', 'cov 95', 'Brier', 'Brier const'],
      groups.map((g) => [
        g.group,
        String(g.predictions_with_actual),
        String(g.live_predictions),
        String(g.backfilled_predictions),
        n(g.mae),
        n(g.naive_mae),
        n(g.mae_ratio, 3),
        p(g.hit_rate),
        p(g.always_up_hit_rate),
        p(g.coverage_80),
        p(g.coverage_95),
        n(g.brier_score),
        n(g.brier_constant),
      ]),
    )}\n`,
  );
  return 0;
}

interface Command {
  readonly spec: ArgSpec;
  readonly run: (ctx: Context, args: ParsedArgs) => Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  backfill: { spec: { values: ['from', 'to', 'symbols', 'horizon-steps'] }, run: backfillCommand },
  'daily-run': { spec: { values: ['date', 'symbols', 'horizon-steps'], switches: ['force'] }, run: dailyRunCommand },
  accuracy: { spec: { values: ['from', 'to', 'symbols', 'group-by', 'horizon'], switches: ['include-in-sample'] }, run: accuracyCommand },
};

export async function runTrackingCli(argv: readonly string[], env: NodeJS.ProcessEnv, out: OutputStream, err: OutputStream): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? err : out).write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  let store: TrackingStore | undefined;
  try {
    const command = COMMANDS[name];
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')})`);
    const args = parseArgs(rest, command.spec);
    const config = loadConfig(env);
    store = await openTrackingStore(config);
    return await command.run({ config, store, out, err }, args);
  } catch (error) {
    err.write(`error: ${errorMessage(error)}\n`);
    return error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
  } finally {
    await store?.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await runTrackingCli(process.argv.slice(2), process.env, process.stdout, process.stderr);
}
