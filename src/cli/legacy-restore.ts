import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { dataLayout } from '../config/layout.js';
import { errorMessage } from '../errors.js';
import { importKerasModel } from '../keras-import/import-keras.js';
import { findLegacyModelFiles } from '../keras-import/legacy-files.js';
import { CsvMarketData } from '../market/csv.js';
import { BACKEND_PREFERENCES, selectBackend, type BackendPreference } from '../ml/backend.js';
import { ModelStore } from '../model-store/store.js';
import { applyLegacyRestore, LEGACY_INFO_NAME, planLegacyRestore, readLegacyArchive, type LegacyPlan } from '../ops/legacy-archive.js';
import { RestoreAbortedError } from '../ops/restore.js';
import { parseArgs, UsageError } from './args.js';

interface Io {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

const day = (d: Date | undefined): string => d?.toISOString().replace('T', ' ').slice(0, 16) ?? '?';

function printPlan(plan: LegacyPlan, io: Io): void {
  const { archive } = plan;
  io.out.write(`${archive.archive}: a backup of the original system (${LEGACY_INFO_NAME}, no checksums)\n`);
  for (const [key, value] of Object.entries(archive.info)) io.out.write(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
  const sections = [...new Set(plan.files.map((f) => f.section))];
  for (const section of sections) {
    const files = plan.files.filter((f) => f.section === section);
    const count = (action: string): number => files.filter((f) => f.action === action).length;
    io.out.write(`  ${section.padEnd(10)} ${files.length} files: +${count('add')} new, ~${count('replace') + count('replace-newer')} replaced, =${count('same')} unchanged, ${count('keep-newer')} kept (newer here)\n`);
  }
  for (const [top, count] of Object.entries(archive.skipped)) io.out.write(`  ${top.padEnd(10)} ${count} files not restored (caches and logs are rebuilt; other entries are not part of the layout)\n`);
  for (const f of plan.files.filter((f) => f.action === 'keep-newer')) {
    io.out.write(`  kept: ${f.target} (modified ${day(f.existingMtime)}) is newer than the archive's ${f.name} (${day(f.mtime)}); --overwrite-newer replaces it\n`);
  }
  for (const f of plan.files.filter((f) => f.action === 'replace-newer')) {
    io.out.write(`  REPLACING NEWER: ${f.target} (modified ${day(f.existingMtime)}) with the archive's older ${f.name} (${day(f.mtime)})\n`);
  }
  for (const f of plan.files.filter((f) => f.action === 'replace')) io.out.write(`  replacing: ${f.target} (modified ${day(f.existingMtime)}) with the archive's ${f.name} (${day(f.mtime)})\n`);
}

/**
 * `ops restore --legacy ARCHIVE [--dry-run] [--yes] [--overwrite-newer] [--no-import]`: shows what an
 * original-system backup holds, restores its ml_models, scalers, stock_data and config after
 * confirmation, then imports the Keras models it brought (each `*.h5` with its `*_scalers.pkl`).
 */
export async function runLegacyRestore(argv: string[], io: Io, stdin: NodeJS.ReadStream): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'backend'], switches: ['dry-run', 'yes', 'overwrite-newer', 'no-import'] });
  const layout = dataLayout(args.values.data ?? io.env.PERSISTENT_DATA_PATH ?? 'persistent_data');
  const archivePath = args.positionals[0];
  if (archivePath === undefined || args.positionals.length > 1) throw new UsageError('restore --legacy needs exactly one archive path');
  const archive = await readLegacyArchive(path.resolve(archivePath));
  const plan = await planLegacyRestore(layout, archive, args.switches.has('overwrite-newer'));
  printPlan(plan, io);
  if (args.switches.has('dry-run')) {
    io.out.write('dry run: nothing changed\n');
    return 0;
  }
  if (!args.switches.has('yes')) {
    if (stdin.isTTY !== true) throw new UsageError('refusing to restore without confirmation: stdin is not a terminal; pass --yes to restore non-interactively');
    const rl = createInterface({ input: stdin, output: io.out });
    try {
      const answer = await rl.question('Stop the service first. Restore these files? [y/N] ');
      if (!/^y(es)?$/i.test(answer.trim())) throw new RestoreAbortedError('restore cancelled: nothing was changed');
    } finally {
      rl.close();
    }
  }
  const result = await applyLegacyRestore(layout, plan);
  io.out.write(`restored ${result.written.length} files from ${archive.archive}\n`);
  io.out.write(result.safetyCopy === undefined ? 'nothing was replaced\n' : `what was replaced is kept in ${result.safetyCopy}\n`);
  if (args.switches.has('no-import')) return 0;
  return importRestoredModels(layout.mlModels, layout.scalers, layout.historical, args.values.backend ?? io.env.TFJS_BACKEND ?? 'auto', io);
}

/** Imports every Keras model + scaler pair in ml_models whose symbol has price history; 1 when one failed. */
async function importRestoredModels(mlModels: string, scalers: string, historical: string, backendPreference: string, io: Io): Promise<number> {
  const legacy = await findLegacyModelFiles(mlModels);
  if (legacy.length === 0) return 0;
  const market = new CsvMarketData({ directory: historical });
  const symbols = new Set(await market.listSymbols());
  const store = new ModelStore({ modelsDir: mlModels, scalersDir: scalers });
  if (!(BACKEND_PREFERENCES as readonly string[]).includes(backendPreference)) throw new UsageError(`--backend must be one of ${BACKEND_PREFERENCES.join(', ')}`);
  const backend = await selectBackend(backendPreference as BackendPreference);
  let failed = 0;
  for (const file of legacy) {
    if (file.model === undefined || file.scaler === undefined) {
      io.out.write(`not imported: ${path.basename(file.model ?? file.scaler ?? '')} has no ${file.model === undefined ? 'model' : 'scaler'} beside it\n`);
      continue;
    }
    if (!symbols.has(file.symbol)) {
      io.out.write(`not imported: ${path.basename(file.model)}: no price history for ${file.symbol} in ${historical} to evaluate it on\n`);
      continue;
    }
    try {
      const imported = await importKerasModel({ modelFile: file.model, scalerFile: file.scaler, symbol: file.symbol, store, market, backend });
      const e = imported.metadata.evaluation;
      io.out.write(`imported ${path.basename(file.model)} as ${imported.key} ${imported.version}: test MAE ${e.mae.toFixed(4)} vs naive ${e.naive_mae.toFixed(4)} (ratio ${e.mae_ratio.toFixed(3)}), ${imported.metadata.beats_naive ? 'beats naive' : 'does NOT beat naive'}\n`);
    } catch (error) {
      failed += 1;
      io.err.write(`could not import ${path.basename(file.model)}: ${errorMessage(error)}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}
