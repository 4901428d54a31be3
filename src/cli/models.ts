/**
 * `npm run models -- <command>` (also scripts/manage_ml_models.sh): train, evaluate and manage
 * the versioned models under PERSISTENT_DATA_PATH. Exit status: 0 done, 1 failed, 2 bad input.
 */
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config/env.js';
import { AppError, CorruptModelError, errorMessage, NotFoundError, ValidationError } from '../errors.js';
import { parseArgs, UsageError, type ArgSpec, type ParsedArgs } from './args.js';
import { createContext, TRAINING_FLAGS, type CliContext } from './models/context.js';
import { evaluateCommand } from './models/evaluate.js';
import { importKerasCommand } from './models/import-keras.js';
import { trainCommand } from './models/train.js';
import { cleanCommand, exportCommand, listCommand, promoteCommand, rollbackCommand, statusCommand } from './models/versions.js';
import type { OutputStream } from './progress.js';

const USAGE = `usage: models <command> [options]

commands:
  train SYMBOL...|--all     train, evaluate on the held-out test split and save a new current version
                            (--all: every symbol with data plus the global model; "global" names the global model)
  status                    current version of every model and its score against the naive forecast
  list [KEY]                every kept version, newest first (* = current)
  evaluate SYMBOL           walk-forward backtest vs baselines, with an SVG chart
                            [--windows N (3)] [--step DAYS (20)] [--refit] [--out PATH]
  evaluate --all            one table of every current model's test split: served vs raw vs naive MAE,
                            Brier vs constant, band coverage per horizon, interval score vs RiskMetrics,
                            volatility loss vs EWMA/GARCH
  evaluate --unseen [SYMBOL...]
                            leave one symbol out: the global model trained without SYMBOL (default: each
                            symbol in turn), scored on SYMBOL's test split; the store is not touched
                            [training options, default the current global model's] [--parallel N]
                            [--before DATE: bars before DATE only, e.g. a check that never reaches the
                            shipped models' test split]
  promote KEY VERSION       make a kept version current (verified first)
  rollback KEY              go back to the previous valid version
  clean                     prune versions beyond MODEL_KEEP_VERSIONS and remove leftovers of interrupted saves
  export DIR                copy every model's current version into an empty DIR in the shipped models/ layout
  import-keras FILE.h5 --scaler FILE.pkl|FILE.json --symbol SYMBOL
                            import a Keras HDF5 next-close model and its scikit-learn scaler (pickle, joblib
                            or JSON) as SYMBOL's new current version, evaluated like a trained model
                            [--window N (checked)] [--feature close[,open,high,low,volume]] [--horizon N (60)]

training options (flag, or environment variable TRAIN_<NAME>):
  --epochs --window --units --layers --dropout --horizon --batch-size --learning-rate --patience --seed --max-bars
  --parallel N (workers, default: cores)   --backend auto|tensorflow|wasm|cpu (default: TFJS_BACKEND or auto)

PERSISTENT_DATA_PATH (default ./persistent_data) decides where bars are read and models written.`;

const TRAINING_VALUES = [...Object.keys(TRAINING_FLAGS), 'backend'];

interface Command {
  readonly spec: ArgSpec;
  readonly run: (ctx: CliContext, args: ParsedArgs) => Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  train: { spec: { values: [...TRAINING_VALUES, 'parallel'], switches: ['all'] }, run: trainCommand },
  status: { spec: {}, run: statusCommand },
  list: { spec: {}, run: listCommand },
  evaluate: { spec: { values: [...TRAINING_VALUES, 'windows', 'step', 'out', 'parallel', 'before'], switches: ['refit', 'all', 'unseen'] }, run: evaluateCommand },
  promote: { spec: {}, run: promoteCommand },
  rollback: { spec: {}, run: rollbackCommand },
  clean: { spec: {}, run: cleanCommand },
  export: { spec: {}, run: exportCommand },
  'import-keras': { spec: { values: ['scaler', 'symbol', 'window', 'feature', 'horizon', 'backend'] }, run: importKerasCommand },
};

/** Runs one command and returns its exit status; every error becomes one line on `err`. */
export async function runModelsCli(argv: readonly string[], env: NodeJS.ProcessEnv, out: OutputStream, err: OutputStream): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? err : out).write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  try {
    const command = COMMANDS[name];
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')})`);
    const args = parseArgs(rest, command.spec);
    return await command.run(createContext(env, out, err), args);
  } catch (error) {
    err.write(`error: ${errorMessage(error)}\n`);
    return exitStatus(error);
  }
}

/** 2 for anything the user can fix by changing the command line or environment, 1 for failures. */
function exitStatus(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof ValidationError || error instanceof NotFoundError) return 2;
  if (error instanceof CorruptModelError) return 1;
  if (error instanceof AppError && error.status >= 400 && error.status < 500) return 2;
  return 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await runModelsCli(process.argv.slice(2), process.env, process.stdout, process.stderr);
}
