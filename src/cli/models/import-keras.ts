import { importKerasModel } from '../../keras-import/import-keras.js';
import { selectBackend } from '../../ml/backend.js';
import { positiveInt, UsageError, type ParsedArgs } from '../args.js';
import { backendPreference, ensureHistory, knownSymbols, type CliContext } from './context.js';
import { metricsTable, verdict } from './report.js';

/**
 * `import-keras FILE.h5 --scaler FILE.pkl|FILE.json --symbol SYM [--window N] [--feature close,...] [--horizon N]`:
 * brings a Keras model of the original system (or any Keras stock-LSTM notebook) into the model
 * store as the symbol's new current version, evaluated on the symbol's bars like a trained model.
 */
export async function importKerasCommand(ctx: CliContext, args: ParsedArgs): Promise<number> {
  const [modelFile, ...rest] = args.positionals;
  const scalerFile = args.values.scaler;
  const rawSymbol = args.values.symbol;
  if (modelFile === undefined || rest.length > 0 || scalerFile === undefined || rawSymbol === undefined) {
    throw new UsageError('usage: import-keras FILE.h5 --scaler FILE.pkl|FILE.json --symbol SYMBOL [--window N] [--feature close[,volume,...]] [--horizon N]');
  }
  const backend = await selectBackend(backendPreference(ctx, args));
  await ensureHistory(ctx);
  const [symbol] = await knownSymbols(ctx, [rawSymbol]);
  const window = args.values.window === undefined ? undefined : positiveInt(args, 'window', 1);
  const horizon = args.values.horizon === undefined ? undefined : positiveInt(args, 'horizon', 1);
  if (horizon !== undefined && horizon > 60) throw new UsageError(`--horizon must be at most 60 (the API's longest forecast), got ${horizon}`);
  const inputs = args.values.feature?.split(',').map((f) => f.trim().toLowerCase());
  const imported = await importKerasModel({
    modelFile, scalerFile, symbol: symbol as string, store: ctx.store, market: ctx.market, backend,
    ...(window === undefined ? {} : { window }),
    ...(horizon === undefined ? {} : { horizon }),
    ...(inputs === undefined ? {} : { inputs }),
  });
  const metadata = await ctx.store.readMetadata(imported.key, imported.version);
  const origin = metadata.origin;
  const out = (line: string): void => void ctx.out.write(`${line}\n`);
  out(`imported ${origin?.model_file} (${origin?.layout}, Keras ${origin?.keras_version}) with ${origin?.scaler_file} (${origin?.scaler_format}: ${origin?.scaler_types.features} / ${origin?.scaler_types.target})`);
  out(`as ${imported.key} ${imported.version} on ${backend}: ${origin?.layers.join(' -> ')}; inputs ${origin?.inputs.join(', ')}, window ${metadata.window}`);
  out(origin?.multi_step === 'iterated'
    ? `forecasts: next close; days 2..${metadata.horizon} by iterating the network on its own output`
    : 'forecasts: next close only (its inputs are not all predicted, so it cannot be iterated)');
  out('');
  out('Test split (the chronological last 15 %, scored exactly like a trained model), next-day forecasts:');
  out(metricsTable([metadata]));
  out('');
  out(verdict(metadata));
  out(`note: ${origin?.caveat}`);
  return 0;
}
