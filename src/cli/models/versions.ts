import path from 'node:path';
import { sha256File } from '../../fs/file-digest.js';
import { describeLegacyFile, findLegacyModelFiles } from '../../keras-import/legacy-files.js';
import { GLOBAL_MODEL_KEY, symbolModelKey } from '../../ml/types.js';
import { modelKey, ModelStore } from '../../model-store/store.js';
import { UsageError, type ParsedArgs } from '../args.js';
import type { CliContext } from './context.js';
import { num, table } from './table.js';

const write = (ctx: CliContext, line: string): void => void ctx.out.write(`${line}\n`);

/** `status`: the current version of every model, and which symbols with data have none (the global model answers for them). */
export async function statusCommand(ctx: CliContext, args: ParsedArgs): Promise<number> {
  if (args.positionals.length > 0) throw new UsageError('status takes no arguments');
  const keys = await ctx.store.keys();
  const rows: string[][] = [];
  // Which kept version each imported Keras file became, by the file's sha256: "key version", newest first.
  const imported = new Map<string, string>();
  for (const key of keys) {
    const versions = await ctx.store.versions(key);
    for (const v of versions) {
      if (v.complete && v.imported_sha256 !== undefined && !imported.has(v.imported_sha256)) imported.set(v.imported_sha256, `${key} ${v.version}${v.current ? '' : ' (not current)'}`);
    }
    const current = versions.find((v) => v.current);
    rows.push([
      key, current?.version ?? '-', current?.trained_at ?? '-', current?.data_to ?? '-', current?.backend ?? '-',
      num(current?.mae_ratio, 3), current?.beats_naive === undefined ? '-' : current.beats_naive ? 'yes' : 'NO', String(versions.length),
    ]);
  }
  write(ctx, `models in ${ctx.store.modelsDir}`);
  if (rows.length === 0) write(ctx, 'no models yet: train one with `train SYMBOL` or `train --all`');
  else write(ctx, table(['model', 'current', 'trained_at', 'data_to', 'backend', 'mae_ratio', 'beats_naive', 'versions'], rows));
  const legacy = await findLegacyModelFiles(ctx.store.modelsDir);
  if (legacy.length > 0) {
    write(ctx, `legacy Keras files in ${ctx.store.modelsDir} (not served until imported):`);
    for (const file of legacy) {
      const as = file.model === undefined ? undefined : imported.get(await sha256File(file.model));
      write(ctx, `  ${as === undefined ? describeLegacyFile(file) : `${path.basename(file.model as string)}: imported as ${as}`}`);
    }
  }
  const withoutModel = (await ctx.market.listSymbols()).filter((s) => !keys.includes(symbolModelKey(s)));
  if (withoutModel.length > 0) {
    const fallback = keys.includes(GLOBAL_MODEL_KEY) ? 'the global model answers for them' : 'no global model either';
    write(ctx, `symbols with data but no model of their own: ${withoutModel.join(', ')} (${fallback})`);
  }
  return 0;
}

/** `list [KEY]`: every version kept, newest first, `*` marking the current one. */
export async function listCommand(ctx: CliContext, args: ParsedArgs): Promise<number> {
  if (args.positionals.length > 1) throw new UsageError('list takes at most one model key');
  const keys = args.positionals.length === 1 ? [modelKey(args.positionals[0] as string)] : await ctx.store.keys();
  const rows: string[][] = [];
  for (const key of keys) {
    for (const v of await ctx.store.versions(key)) {
      const state = v.error !== undefined ? `unreadable: ${v.error}` : v.complete ? 'ok' : 'incomplete';
      rows.push([v.current ? '*' : '', key, v.version, v.trained_at ?? '-', v.data_to ?? '-', num(v.mae, 3), num(v.naive_mae, 3), num(v.mae_ratio, 3), v.beats_naive === undefined ? '-' : v.beats_naive ? 'yes' : 'NO', state]);
    }
  }
  if (rows.length === 0) write(ctx, 'no model versions');
  else write(ctx, table(['', 'model', 'version', 'trained_at', 'data_to', 'mae', 'naive_mae', 'mae_ratio', 'beats_naive', 'state'], rows));
  return 0;
}

export async function promoteCommand(ctx: CliContext, args: ParsedArgs): Promise<number> {
  const [rawKey, version, ...rest] = args.positionals;
  if (rawKey === undefined || version === undefined || rest.length > 0) throw new UsageError('usage: promote KEY VERSION');
  const key = modelKey(rawKey);
  const before = await ctx.store.currentVersion(key);
  await ctx.store.promote(key, version);
  write(ctx, `${key}: current version ${before ?? '(none)'} -> ${version}`);
  return 0;
}

export async function rollbackCommand(ctx: CliContext, args: ParsedArgs): Promise<number> {
  const [rawKey, ...rest] = args.positionals;
  if (rawKey === undefined || rest.length > 0) throw new UsageError('usage: rollback KEY');
  const key = modelKey(rawKey);
  const { from, to } = await ctx.store.rollback(key);
  write(ctx, `${key}: rolled back ${from} -> ${to}`);
  return 0;
}

export async function cleanCommand(ctx: CliContext, args: ParsedArgs): Promise<number> {
  if (args.positionals.length > 0) throw new UsageError('clean takes no arguments');
  const report = await ctx.store.clean();
  for (const v of report.removedVersions) write(ctx, `removed ${v.key} ${v.version} (beyond the ${ctx.store.keepVersions} kept)`);
  for (const f of report.removedFiles) write(ctx, `removed leftover ${f}`);
  write(ctx, `clean: ${report.removedVersions.length} old versions and ${report.removedFiles.length} leftovers removed`);
  return 0;
}

/** `export DIR`: copies the current version of every model into an empty DIR in the shipped layout (scalers in DIR/scalers). */
export async function exportCommand(ctx: CliContext, args: ParsedArgs): Promise<number> {
  const [dir, ...rest] = args.positionals;
  if (dir === undefined || rest.length > 0) throw new UsageError('usage: export DIR');
  const target = new ModelStore({ modelsDir: dir, scalersDir: path.join(dir, 'scalers'), keepVersions: ctx.store.keepVersions });
  if ((await target.keys()).length > 0) throw new UsageError(`${dir} already holds models: export into an empty folder`);
  const keys = await ctx.store.keys();
  for (const key of keys) {
    const version = await ctx.store.currentVersion(key);
    if (version === null) continue;
    await target.importVersion(ctx.store, key, version);
    await target.promote(key, version);
    write(ctx, `exported ${key} ${version}`);
  }
  write(ctx, `${keys.length} models exported to ${path.resolve(dir)}`);
  return 0;
}
