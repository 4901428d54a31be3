import { isIsoDate } from '../market/validation.js';

/** Bad command-line input: the CLI prints the message on one line and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ParsedArgs {
  readonly positionals: string[];
  /** Flags that take a value, by name without the leading dashes. */
  readonly values: Record<string, string>;
  /** Flags given without a value. */
  readonly switches: Set<string>;
}

export interface ArgSpec {
  readonly values?: readonly string[];
  readonly switches?: readonly string[];
}

/**
 * Parses `--name value`, `--name=value` and `--switch` against the flags a command accepts;
 * anything else starting with `--` is refused, so a typo never silently falls back to a default.
 */
export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const valueFlags = new Set(spec.values ?? []);
  const switchFlags = new Set(spec.switches ?? []);
  const positionals: string[] = [];
  const values: Record<string, string> = {};
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (switchFlags.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      switches.add(name);
    } else if (valueFlags.has(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      if (name in values) throw new UsageError(`--${name} given twice`);
      values[name] = value;
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positionals, values, switches };
}

/** A date flag value (YYYY-MM-DD); undefined when absent and not required. */
export function dateFlag(args: ParsedArgs, name: string, required: boolean): string | undefined {
  const raw = args.values[name];
  if (raw === undefined) {
    if (required) throw new UsageError(`--${name} YYYY-MM-DD is required`);
    return undefined;
  }
  if (!isIsoDate(raw)) throw new UsageError(`--${name} must be a date YYYY-MM-DD, got ${JSON.stringify(raw)}`);
  return raw;
}

/** A positive integer flag value, or `fallback` when the flag is absent. */
export function positiveInt(args: ParsedArgs, name: string, fallback: number): number {
  const raw = args.values[name];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}
