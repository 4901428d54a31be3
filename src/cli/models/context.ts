import os from 'node:os';
import path from 'node:path';
import { loadConfig, type AppConfig } from '../../config/env.js';
import { packageRoot } from '../../config/package-root.js';
import { marketDataConfig } from '../../config/market-data.js';
import { NotFoundError } from '../../errors.js';
import type { Bar } from '../../market/bar.js';
import { createMarketDataProvider } from '../../market/factory.js';
import type { MarketDataProvider } from '../../market/provider.js';
import { seedHistorical } from '../../market/seed.js';
import { BACKEND_PREFERENCES, type BackendPreference } from '../../ml/backend.js';
import { trainingConfigFromEnv } from '../../ml/training/config.js';
import type { TrainingConfig } from '../../ml/types.js';
import { ModelStore } from '../../model-store/store.js';
import { positiveInt, UsageError, type ParsedArgs } from '../args.js';
import type { OutputStream } from '../progress.js';

/** What every models command works on, derived from the environment exactly as the service derives it. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly config: AppConfig;
  readonly store: ModelStore;
  /** The service's market-data provider (CSV, or Yahoo merged into the stored history), so the CLI trains on what it serves. */
  readonly market: MarketDataProvider;
  readonly out: OutputStream;
  readonly err: OutputStream;
}

export function createContext(env: NodeJS.ProcessEnv, out: OutputStream, err: OutputStream): CliContext {
  const config = loadConfig(env);
  const { layout } = config;
  return {
    env,
    config,
    store: new ModelStore({ modelsDir: layout.mlModels, scalersDir: layout.scalers, keepVersions: config.modelKeepVersions }),
    market: createMarketDataProvider(marketDataConfig(config)),
    out,
    err,
  };
}

/** The shipped sample CSVs are copied into an empty history, as the service does at start-up. */
export async function ensureHistory(ctx: CliContext): Promise<void> {
  await seedHistorical({ historicalDir: ctx.config.layout.historical, sampleDir: path.join(packageRoot, 'data', 'sample') });
}

/** Flags of the training options, each mapped to its TrainingConfig field. */
export const TRAINING_FLAGS: Readonly<Record<string, keyof TrainingConfig>> = {
  epochs: 'epochs',
  window: 'window',
  units: 'units',
  layers: 'layers',
  dropout: 'dropout',
  horizon: 'horizon',
  'batch-size': 'batchSize',
  'learning-rate': 'learningRate',
  patience: 'patience',
  seed: 'seed',
  'max-bars': 'maxBars',
};

export function trainingFlagOverrides(args: ParsedArgs): Partial<Record<keyof TrainingConfig, string>> {
  const overrides: Partial<Record<keyof TrainingConfig, string>> = {};
  for (const [flag, field] of Object.entries(TRAINING_FLAGS)) {
    const value = args.values[flag];
    if (value !== undefined) overrides[field] = value;
  }
  return overrides;
}

/** Defaults < TRAIN_* environment < `base` (e.g. a stored model's config) < flags. Bad values name their flag or variable. */
export function trainingConfig(ctx: CliContext, args: ParsedArgs, base: Partial<TrainingConfig> = {}): TrainingConfig {
  const flags = trainingFlagOverrides(args);
  const renamed = Object.fromEntries(Object.entries(TRAINING_FLAGS).map(([flag, field]) => [field, flag]));
  try {
    return trainingConfigFromEnv(ctx.env, { ...base, ...flags });
  } catch (error) {
    // Report `--batch-size`, not the internal field name, for a bad flag.
    const variable = (error as { details?: { variable?: string } }).details?.variable;
    if (variable !== undefined && variable in flags) {
      throw new UsageError(`--${renamed[variable] ?? variable}: ${(error as Error).message.replace(/^[^:]+: /, '')}`);
    }
    throw error;
  }
}

export function backendPreference(ctx: CliContext, args: ParsedArgs): BackendPreference {
  const raw = args.values.backend ?? ctx.config.tfjsBackend;
  if (!(BACKEND_PREFERENCES as readonly string[]).includes(raw)) {
    throw new UsageError(`--backend must be one of ${BACKEND_PREFERENCES.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as BackendPreference;
}

export function parallelism(args: ParsedArgs): number {
  return positiveInt(args, 'parallel', os.availableParallelism());
}

/**
 * Upper-cased symbols that have data: stored, or (with a remote source) fetched and stored now. An unknown
 * one is a usage error naming it.
 */
export async function knownSymbols(ctx: CliContext, requested: readonly string[]): Promise<string[]> {
  const available = new Set(await ctx.market.listSymbols());
  const symbols: string[] = [];
  for (const raw of requested) {
    const symbol = raw.toUpperCase();
    if (!available.has(symbol) && !(await fetchable(ctx, symbol))) {
      throw new UsageError(`unknown symbol ${raw}: no data in ${ctx.config.layout.historical} (have: ${[...available].join(', ') || 'none'})`);
    }
    symbols.push(symbol);
  }
  return symbols;
}

async function fetchable(ctx: CliContext, symbol: string): Promise<boolean> {
  if (ctx.config.dataSource === 'csv') return false;
  try {
    return (await ctx.market.getBars(symbol)).length > 0;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

/** A symbol's newest bars through the provider: a remote source refreshes stale stored bars first (within its fetch budget). */
export function freshBars(ctx: CliContext, symbol: string): Promise<Bar[]> {
  return ctx.market.getBars(symbol, { fresh: true });
}
