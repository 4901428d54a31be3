import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import { LegacyFileError } from '../errors.js';
import { isBarInput, TARGET_INPUT } from '../ml/imported/bar-inputs.js';
import { checkAffine, IMPORTED_SCALER_FORMAT, type AffineColumns, type ImportedScalerState, type SklearnScalerType } from '../ml/imported/imported-scaler.js';
import { asNdArray, NUMPY_CLASSES } from './numpy-arrays.js';
import { PyDict, PyObject, readPickle, type PickleClass, type PyValue } from './pickle.js';

/**
 * Reads the scaler that belongs to an imported network: a scikit-learn MinMaxScaler or
 * StandardScaler saved with pickle (protocols 2–5) or joblib.dump (optionally zlib/gzip
 * compressed), the seed's `{features, target}` dict of two of them, or JSON with their parameters.
 * Whatever the file holds besides these is refused by name.
 */

const MAX_SCALER_BYTES = 16 * 1024 * 1024;
const SCALER_CLASSES: readonly SklearnScalerType[] = ['MinMaxScaler', 'StandardScaler'];

/** A fitted scikit-learn scaler reduced to its per-column affine map, plus the column names it was fitted on (if any). */
interface ParsedScaler extends AffineColumns {
  readonly columns: number;
  readonly featureNames?: readonly string[];
}

export interface ScalerFile {
  readonly format: 'pickle' | 'joblib' | 'json';
  readonly features: ParsedScaler;
  /** The seed's separate target scaler; absent when one scaler covers inputs and target. */
  readonly target?: ParsedScaler;
}

function sklearnClass(type: SklearnScalerType): PickleClass {
  return { call: () => new PyObject(type) };
}

/** Allow-list: numpy's array machinery and the two scaler classes, under their current and pre-0.22 module paths. */
const CLASSES: ReadonlyMap<string, PickleClass> = new Map<string, PickleClass>([
  ...NUMPY_CLASSES,
  ...SCALER_CLASSES.flatMap((type): [string, PickleClass][] => [
    [`sklearn.preprocessing._data.${type}`, sklearnClass(type)],
    [`sklearn.preprocessing.data.${type}`, sklearnClass(type)],
  ]),
]);

function numbers(value: PyValue | undefined | number[], what: string): number[] {
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return value as number[];
  const array = asNdArray(value as PyValue | undefined);
  if (array === undefined || array.shape.length !== 1 || !array.values.every((v) => typeof v === 'number')) throw new TypeError(`${what} is not a 1-D numeric array`);
  return array.values as number[];
}

function fromParameters(type: SklearnScalerType, get: (key: string) => PyValue | undefined | number[], featureNames: readonly string[] | undefined, what: string): ParsedScaler {
  let multiply: number[];
  let add: number[];
  if (type === 'MinMaxScaler') {
    const scale = get('scale_');
    if (scale !== undefined && scale !== null) {
      multiply = numbers(scale, `${what} scale_`);
      add = numbers(get('min_'), `${what} min_`);
    } else {
      // JSON may give the fitted range instead: scale_ = (hi − lo) / (data_max_ − data_min_), min_ = lo − data_min_ · scale_.
      const lo = numbers(get('data_min_'), `${what} data_min_`);
      const hi = numbers(get('data_max_'), `${what} data_max_`);
      const range = get('feature_range');
      const [a, b] = Array.isArray(range) && range.length === 2 ? (range as number[]) : [0, 1];
      multiply = lo.map((l, i) => ((b as number) - (a as number)) / ((hi[i] as number) - l));
      add = lo.map((l, i) => (a as number) - l * (multiply[i] as number));
    }
  } else {
    const mean = get('mean_');
    const scale = get('scale_');
    const width = mean !== undefined && mean !== null ? numbers(mean, `${what} mean_`).length : numbers(scale, `${what} scale_`).length;
    const meanValues = mean === undefined || mean === null || get('with_mean') === false ? new Array<number>(width).fill(0) : numbers(mean, `${what} mean_`);
    const scaleValues = scale === undefined || scale === null || get('with_std') === false ? new Array<number>(width).fill(1) : numbers(scale, `${what} scale_`);
    multiply = scaleValues.map((s) => 1 / s);
    add = meanValues.map((m, i) => -m / (scaleValues[i] as number));
  }
  const scaler: ParsedScaler = { type, multiply, add, columns: multiply.length, ...(featureNames === undefined ? {} : { featureNames }) };
  checkAffine(scaler, multiply.length, what);
  return scaler;
}

function fromPython(value: PyValue, what: string): ParsedScaler {
  if (!(value instanceof PyObject) || !(SCALER_CLASSES as readonly string[]).includes(value.className)) {
    throw new TypeError(`${what} is ${describe(value)}, not a MinMaxScaler or StandardScaler`);
  }
  const state = value.state;
  if (!(state instanceof PyDict)) throw new TypeError(`${what} (${value.className}) has no fitted state`);
  const names = asNdArray(state.entries.get('feature_names_in_'));
  const featureNames = names?.values.every((v) => typeof v === 'string') ? (names.values as string[]) : undefined;
  return fromParameters(value.className as SklearnScalerType, (key) => state.entries.get(key), featureNames, what);
}

function describe(value: PyValue): string {
  if (value instanceof PyObject) return `a ${value.className}`;
  if (value instanceof PyDict) return `a dict with keys [${[...value.entries.keys()].join(', ')}]`;
  if (value === null) return 'None';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

function fromJson(value: unknown, what: string): ParsedScaler {
  const v = value as Record<string, unknown> | null;
  const type = v?.type;
  if (typeof v !== 'object' || v === null || (type !== 'MinMaxScaler' && type !== 'StandardScaler')) {
    throw new TypeError(`${what} has no "type" of MinMaxScaler or StandardScaler`);
  }
  const names = Array.isArray(v.feature_names_in_) ? (v.feature_names_in_ as string[]) : undefined;
  return fromParameters(type, (key) => v[key] as number[] | undefined, names, what);
}

function decompress(bytes: Buffer, name: string): Buffer {
  const options = { maxOutputLength: MAX_SCALER_BYTES };
  try {
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) return gunzipSync(bytes, options);
    if (bytes[0] === 0x78) return inflateSync(bytes, options);
  } catch (error) {
    throw new LegacyFileError(`${name}: compressed scaler file does not decompress (${(error as Error).message})`, { file: name });
  }
  return bytes;
}

export async function readScalerFile(file: string): Promise<ScalerFile> {
  const name = path.basename(file);
  const stat = await fs.stat(file).catch(() => {
    throw new LegacyFileError(`${name}: no such file`, { file: name });
  });
  if (!stat.isFile() || stat.size > MAX_SCALER_BYTES) throw new LegacyFileError(`${name}: not a scaler file (not a regular file, or over ${MAX_SCALER_BYTES} bytes)`, { file: name });
  const raw = await fs.readFile(file);
  try {
    if (name.endsWith('.json')) {
      const json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      if (json.features !== undefined || json.target !== undefined) {
        return { format: 'json', features: fromJson(json.features, `${name} features`), target: fromJson(json.target, `${name} target`) };
      }
      return { format: 'json', features: fromJson(json, name) };
    }
    const bytes = decompress(raw, name);
    if (bytes[0] !== 0x80) throw new TypeError('not a pickle of protocol 2 or later (no PROTO opcode)');
    const value = readPickle(bytes, CLASSES, name);
    const format = bytes.includes('NumpyArrayWrapper') ? 'joblib' : 'pickle';
    if (value instanceof PyDict) {
      const keys = [...value.entries.keys()];
      if (keys.length !== 2 || !keys.includes('features') || !keys.includes('target')) {
        throw new TypeError(`holds ${describe(value)}; a dict of scalers must have exactly the keys features and target`);
      }
      return { format, features: fromPython(value.entries.get('features') ?? null, `${name} features`), target: fromPython(value.entries.get('target') ?? null, `${name} target`) };
    }
    return { format, features: fromPython(value, name) };
  } catch (error) {
    if (error instanceof LegacyFileError) throw error;
    const message = (error as Error).message;
    throw new LegacyFileError(message.startsWith(name) ? message : `${name}: ${message}`, { file: name });
  }
}

/** A scaler column name (pandas column, e.g. "Close", "Adj Close") as a bar input. */
function barInputName(column: string): string {
  const lower = column.trim().toLowerCase().replace(/[\s_]+/g, ' ');
  return lower === 'adj close' ? 'close' : lower;
}

/**
 * The imported scaler for a network with `width` inputs: the input columns from `--feature`, else
 * from the scaler's fitted column names, else the close alone; the target map from the separate
 * target scaler, else from the input scaler's close column.
 */
export function importedScaler(scalers: ScalerFile, requestedInputs: readonly string[] | undefined, width: number, fileName: string): ImportedScalerState {
  const refuse = (message: string): never => {
    throw new LegacyFileError(`${fileName}: ${message}`, { file: fileName });
  };
  const inputs = requestedInputs ?? scalers.features.featureNames?.map(barInputName) ?? [TARGET_INPUT];
  for (const input of inputs) if (!isBarInput(input)) refuse(`input column ${JSON.stringify(input)} is not a bar column the service has (close, open, high, low, volume); name the inputs with --feature`);
  if (new Set(inputs).size !== inputs.length) refuse(`input columns ${inputs.join(', ')} repeat a column`);
  if (inputs.length !== width) refuse(`the network takes ${width} input columns, but the inputs are ${inputs.join(', ')} (${inputs.length}); name them with --feature`);
  if (scalers.features.columns !== width) refuse(`the scaler has ${scalers.features.columns} columns, the network takes ${width} inputs`);
  let target: AffineColumns;
  if (scalers.target !== undefined) {
    if (scalers.target.columns !== 1) refuse(`the target scaler has ${scalers.target.columns} columns; a next-close model's target has one`);
    target = { type: scalers.target.type, multiply: [...scalers.target.multiply], add: [...scalers.target.add] };
  } else {
    const close = inputs.indexOf(TARGET_INPUT);
    if (close < 0) refuse('without a separate target scaler the inputs must include the close, whose column scales the output');
    target = { type: scalers.features.type, multiply: [scalers.features.multiply[close] as number], add: [scalers.features.add[close] as number] };
  }
  return {
    format: IMPORTED_SCALER_FORMAT,
    inputs: [...inputs],
    features: { type: scalers.features.type, multiply: [...scalers.features.multiply], add: [...scalers.features.add] },
    target,
  };
}
