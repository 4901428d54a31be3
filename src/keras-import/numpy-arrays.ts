import { PyDict, PyGlobal, PyObject, PyTuple, type PickleClass, type PyValue } from './pickle.js';

/**
 * numpy arrays as pickle (`ndarray.__reduce__`, protocol 5's `_frombuffer`) and joblib
 * (`NumpyArrayWrapper` followed by the raw bytes) store them, decoded without numpy. Only the
 * dtypes scalers hold are read: floats, integers, booleans and object arrays of strings.
 */

export interface NdArray {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Row-major values; strings only for object arrays. */
  readonly values: readonly (number | string)[];
}

/** Scalers hold a value per feature; anything near this size is not a scaler. */
const MAX_ELEMENTS = 1_000_000;
const NDARRAY = 'numpy.ndarray';
const DTYPE = 'numpy.dtype';

interface DtypeInfo {
  /** numpy's kind code: f, i, u, b or O. */
  readonly kind: string;
  readonly size: number;
  littleEndian: boolean;
}

/** The pickle reader turns this into a LegacyFileError naming the file and offset. */
function fail(message: string): never {
  throw new TypeError(message);
}

function dtypeOf(value: PyValue): DtypeInfo {
  if (!(value instanceof PyObject) || value.className !== DTYPE) fail('numpy array without a dtype');
  return value.payload as DtypeInfo;
}

function parseDescr(descr: PyValue): DtypeInfo {
  if (typeof descr !== 'string') throw new TypeError('numpy dtype without a type code');
  const match = /^([<>|=]?)([fiubO?])(\d*)$/.exec(descr);
  if (match === null) throw new TypeError(`numpy dtype ${JSON.stringify(descr)} is not one a scaler holds`);
  const kind = match[2] === '?' ? 'b' : (match[2] as string);
  const size = kind === 'O' ? 8 : kind === 'b' && match[3] === '' ? 1 : Number(match[3]);
  const valid = kind === 'O' || (kind === 'f' ? size === 4 || size === 8 : [1, 2, 4, 8].includes(size));
  if (!valid) throw new TypeError(`numpy dtype ${descr} is not supported`);
  return { kind, size, littleEndian: match[1] !== '>' };
}

function shapeOf(value: PyValue): number[] {
  const items = value instanceof PyTuple ? value.items : Array.isArray(value) ? value : fail('numpy array shape is not a tuple');
  const shape = items.map((d) => (typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : fail('numpy array shape has a non-integer dimension')));
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.length > 2 || count > MAX_ELEMENTS) fail(`numpy array of shape (${shape.join(', ')}) is not a scaler parameter`);
  return shape;
}

function decode(dtype: DtypeInfo, bytes: Uint8Array, count: number): number[] {
  if (bytes.length !== count * dtype.size) fail(`numpy array data has ${bytes.length} bytes, its shape and dtype need ${count * dtype.size}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = dtype.littleEndian;
  const out = new Array<number>(count);
  for (let i = 0; i < count; i += 1) {
    const at = i * dtype.size;
    if (dtype.kind === 'f') out[i] = dtype.size === 8 ? view.getFloat64(at, le) : view.getFloat32(at, le);
    else if (dtype.kind === 'b') out[i] = view.getUint8(at) !== 0 ? 1 : 0;
    else if (dtype.size === 1) out[i] = dtype.kind === 'i' ? view.getInt8(at) : view.getUint8(at);
    else if (dtype.size === 2) out[i] = dtype.kind === 'i' ? view.getInt16(at, le) : view.getUint16(at, le);
    else if (dtype.size === 4) out[i] = dtype.kind === 'i' ? view.getInt32(at, le) : view.getUint32(at, le);
    else out[i] = Number(dtype.kind === 'i' ? view.getBigInt64(at, le) : view.getBigUint64(at, le));
  }
  return out;
}

function decodeArray(dtype: DtypeInfo, shape: number[], raw: PyValue, fortran: boolean): NdArray {
  const count = shape.reduce((a, b) => a * b, 1);
  let values: (number | string)[];
  if (dtype.kind === 'O') {
    if (!Array.isArray(raw) || raw.length !== count || !raw.every((v) => typeof v === 'string' || typeof v === 'number')) {
      fail('numpy object array that does not hold plain strings or numbers');
    }
    values = raw as (string | number)[];
  } else {
    if (!(raw instanceof Uint8Array)) fail('numpy array without its data bytes');
    values = decode(dtype, raw, count);
  }
  if (fortran && shape.length === 2) values = transpose(values, shape[1] as number, shape[0] as number);
  return { dtype: `${dtype.kind}${dtype.size}`, shape, values };
}

/** Turns `target` into the decoded array (in place: the pickle memo may refer to it). */
function becomeArray(target: PyObject, array: NdArray): void {
  target.className = NDARRAY;
  target.payload = array;
}

/** Column-major data of a rows x cols array → row-major. */
function transpose<T>(values: readonly T[], cols: number, rows: number): T[] {
  const out: T[] = [];
  for (let r = 0; r < rows; r += 1) for (let c = 0; c < cols; c += 1) out.push(values[c * rows + r] as T);
  return out;
}

/** The array a value holds, or undefined when it is not a decoded numpy array. */
export function asNdArray(value: PyValue | undefined): NdArray | undefined {
  return value instanceof PyObject && value.className === NDARRAY && value.payload !== undefined ? (value.payload as NdArray) : undefined;
}

const dtypeClass: PickleClass = {
  call: ([descr]) => new PyObject(DTYPE, parseDescr(descr ?? null)),
  build: (target, state) => {
    // State (version, byteorder, ...): '>' is big-endian, '<', '=' and '|' are read as little-endian here.
    if (state instanceof PyTuple && state.items[1] === '>') (target.payload as DtypeInfo).littleEndian = false;
  },
};

/** `_reconstruct(ndarray, (0,), b'b')` makes an empty array that BUILD fills with (version, shape, dtype, fortran, data). */
const reconstruct: PickleClass = {
  call: ([cls]) => {
    if (!(cls instanceof PyGlobal) || cls.name !== NDARRAY) throw new TypeError('numpy _reconstruct of something that is not an ndarray');
    return new PyObject(NDARRAY);
  },
};

const ndarrayClass: PickleClass = {
  call: () => {
    throw new TypeError('numpy.ndarray is only read as a reference');
  },
  build: (target, state) => {
    if (!(state instanceof PyTuple) || state.items.length !== 5) fail('numpy array state is not (version, shape, dtype, fortran, data)');
    const [, shape, dtype, fortran, raw] = state.items;
    becomeArray(target, decodeArray(dtypeOf(dtype ?? null), shapeOf(shape ?? null), raw ?? null, fortran === true));
  },
};

/** Protocol 5: `_frombuffer(buffer, dtype, shape, order)`. */
const frombuffer: PickleClass = {
  call: ([raw, dtype, shape, order]) => new PyObject(NDARRAY, decodeArray(dtypeOf(dtype ?? null), shapeOf(shape ?? null), raw ?? null, order === 'F')),
};

/** A numpy scalar (e.g. `n_samples_seen_`): `scalar(dtype, bytes)`. */
const scalar: PickleClass = {
  call: ([dtype, raw]) => {
    const info = dtypeOf(dtype ?? null);
    if (!(raw instanceof Uint8Array) || info.kind === 'O') throw new TypeError('numpy scalar without its data bytes');
    return decode(info, raw, 1)[0] as number;
  },
};

/** joblib: the wrapper's BUILD is followed by the array's bytes (object arrays: a nested pickle). */
const joblibWrapper: PickleClass = {
  call: () => new PyObject('joblib.numpy_pickle.NumpyArrayWrapper'),
  build: (target, state, stream) => {
    if (!(state instanceof PyDict)) fail('joblib array wrapper without its state');
    const dtype = dtypeOf(state.entries.get('dtype') ?? null);
    const shape = shapeOf(state.entries.get('shape') ?? null);
    const fortran = state.entries.get('order') === 'F';
    if (dtype.kind === 'O') {
      const nested = asNdArray(stream.readNested());
      if (nested === undefined) fail('joblib object array is not followed by a pickled array');
      becomeArray(target, nested);
      return;
    }
    const alignment = state.entries.get('numpy_array_alignment_bytes');
    if (typeof alignment === 'number') {
      const padding = stream.readBytes(1, 'the array padding length')[0] as number;
      stream.readBytes(padding, 'the array padding');
    }
    const count = shape.reduce((a, b) => a * b, 1);
    becomeArray(target, decodeArray(dtype, shape, stream.readBytes(count * dtype.size, 'joblib array data').slice(), fortran));
  },
};

const codecsEncode: PickleClass = {
  // Protocol 2 under Python 3 stores bytes as _codecs.encode(text, 'latin1').
  call: ([text, encoding]) => {
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) throw new TypeError('_codecs.encode other than latin1');
    return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  },
};

/** Every numpy-related global the reader accepts, under both numpy 1 (`numpy.core`) and 2 (`numpy._core`) names. */
export const NUMPY_CLASSES: ReadonlyMap<string, PickleClass> = new Map<string, PickleClass>([
  [NDARRAY, ndarrayClass],
  [DTYPE, dtypeClass],
  ['numpy.core.multiarray._reconstruct', reconstruct],
  ['numpy._core.multiarray._reconstruct', reconstruct],
  ['numpy.core.multiarray.scalar', scalar],
  ['numpy._core.multiarray.scalar', scalar],
  ['numpy.core.numeric._frombuffer', frombuffer],
  ['numpy._core.numeric._frombuffer', frombuffer],
  ['joblib.numpy_pickle.NumpyArrayWrapper', joblibWrapper],
  ['_codecs.encode', codecsEncode],
]);
