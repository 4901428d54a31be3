import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isNotFound } from '../fs/atomic-file.js';

/**
 * Files the original system left in `ml_models/`: Keras models (`nvda_lstm_model.h5`) and their
 * joblib scaler dicts (`nvda_lstm_model_scalers.pkl`). The service does not load them; they are
 * listed (at start-up and by `models status`) with the command that imports each model.
 */
export interface LegacyModelFile {
  /** Absolute paths. */
  readonly model?: string;
  readonly scaler?: string;
  /** The symbol the file name suggests (`nvda_lstm_model.h5` → NVDA). */
  readonly symbol: string;
  /** The import command, or undefined when the model or its scaler is missing. */
  readonly command?: string;
}

const MODEL_PATTERN = /^([a-z0-9.-]+?)(?:_lstm)?(?:_model)?\.h5$/i;
const SCALER_PATTERN = /^([a-z0-9.-]+?)(?:_lstm)?(?:_model)?_scalers?\.pkl$/i;

/** Quotes a path for a POSIX shell only when it needs it. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function importCommand(model: string, scaler: string, symbol: string): string {
  return `npm run models -- import-keras ${shellWord(model)} --scaler ${shellWord(scaler)} --symbol ${symbol}`;
}

export async function findLegacyModelFiles(mlModelsDir: string): Promise<LegacyModelFile[]> {
  let names: string[];
  try {
    names = (await fs.readdir(mlModelsDir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const bySymbol = new Map<string, { model?: string; scaler?: string }>();
  for (const name of names) {
    const model = MODEL_PATTERN.exec(name);
    const scaler = model === null ? SCALER_PATTERN.exec(name) : null;
    const match = model ?? scaler;
    if (match === null) continue;
    const symbol = (match[1] as string).toUpperCase();
    const entry = bySymbol.get(symbol) ?? {};
    entry[model !== null ? 'model' : 'scaler'] = path.join(mlModelsDir, name);
    bySymbol.set(symbol, entry);
  }
  return [...bySymbol.entries()].map(([symbol, { model, scaler }]) => ({
    symbol,
    ...(model === undefined ? {} : { model }),
    ...(scaler === undefined ? {} : { scaler }),
    ...(model !== undefined && scaler !== undefined ? { command: importCommand(model, scaler, symbol) } : {}),
  }));
}

/** One line per legacy model, for logs and `models status`. */
export function describeLegacyFile(file: LegacyModelFile): string {
  if (file.command !== undefined) return `${path.basename(file.model as string)} + ${path.basename(file.scaler as string)}: ${file.command}`;
  if (file.model !== undefined) return `${path.basename(file.model)}: no scaler beside it (${file.symbol.toLowerCase()}_lstm_model_scalers.pkl); import with --scaler FILE`;
  return `${path.basename(file.scaler as string)}: a scaler without its .h5 model`;
}
