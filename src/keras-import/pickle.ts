import { LegacyFileError } from '../errors.js';

/**
 * A small, safe reader of Python pickles: it interprets only the opcodes that pickle protocols 2–5
 * and joblib emit for scikit-learn scalers and numpy arrays, and never imports or calls anything.
 * A GLOBAL is resolved only against the caller's allow-list (`PickleClasses`); any other name, any
 * other opcode, a length beyond the end of the data or a malformed structure is a LegacyFileError.
 */

/** Python values as this reader returns them. Dicts keep Python's insertion order in a Map. */
export type PyValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PyObject
  | PyGlobal;

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

export class PyDict {
  readonly entries = new Map<string | number, PyValue>();
}

/**
 * An instance of an allow-listed class, or the opaque result of an allow-listed call. BUILD
 * changes it in place, as Python does, so references to it from the memo see the built value.
 */
export class PyObject {
  state: PyValue = null;
  constructor(
    public className: string,
    /** What the allow-listed handlers made of its arguments and state (e.g. a decoded numpy array). */
    public payload: unknown = undefined,
  ) {}
}

/** A reference to an allow-listed global, as pushed by GLOBAL / STACK_GLOBAL. */
export class PyGlobal {
  constructor(readonly name: string) {}
}

/** The stream a BUILD handler may read from (joblib writes array bytes right after the wrapper's BUILD). */
export interface PickleStream {
  readBytes(count: number, what: string): Uint8Array;
  /** Absolute offset in the file (joblib aligns array data on it). */
  readonly offset: number;
  /** Reads one nested pickle from the current position (joblib's object arrays). */
  readNested(): PyValue;
}

/** What the caller allows: each callable global with what calling it (REDUCE / NEWOBJ) and BUILD on its result do. */
export interface PickleClass {
  /** REDUCE or NEWOBJ with these arguments; returns the new value. */
  call(args: readonly PyValue[]): PyValue;
  /** BUILD with this state on an object of this class: updates `target` in place. */
  build?(target: PyObject, state: PyValue, stream: PickleStream): void;
}

export type PickleClasses = ReadonlyMap<string, PickleClass>;

const MAX_STACK = 100_000;
const MAX_DEPTH = 8;
const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

export class PickleReader implements PickleStream {
  private position = 0;

  constructor(
    private readonly data: Uint8Array,
    private readonly classes: PickleClasses,
    private readonly what: string,
  ) {}

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.data.length - this.position;
  }

  fail(message: string): never {
    throw new LegacyFileError(`${this.what}: ${message}`, { file: this.what });
  }

  readBytes(count: number, what: string): Uint8Array {
    if (!Number.isSafeInteger(count) || count < 0) this.fail(`invalid length ${count} for ${what}`);
    if (count > this.remaining) this.fail(`truncated: ${what} needs ${count} bytes at offset ${this.position}, ${this.remaining} left`);
    const bytes = this.data.subarray(this.position, this.position + count);
    this.position += count;
    return bytes;
  }

  private byte(): number {
    return (this.readBytes(1, 'an opcode or argument') as Uint8Array)[0] as number;
  }

  private uint(size: 1 | 2 | 4 | 8, what: string): number {
    const b = this.readBytes(size, what);
    const view = new DataView(b.buffer, b.byteOffset, size);
    if (size === 1) return view.getUint8(0);
    if (size === 2) return view.getUint16(0, true);
    if (size === 4) return view.getUint32(0, true);
    const big = view.getBigUint64(0, true);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${big} for ${what} is too large`);
    return Number(big);
  }

  private text(count: number, what: string): string {
    const bytes = this.readBytes(count, what);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }

  private line(what: string): string {
    const end = this.data.indexOf(0x0a, this.position);
    if (end < 0 || end - this.position > 256) this.fail(`unterminated ${what}`);
    return this.text(end - this.position + 1, what).slice(0, -1);
  }

  readNested(): PyValue {
    return this.read(1);
  }

  /** Reads one pickle (PROTO … STOP) from the current position. */
  read(depth = 0): PyValue {
    if (depth > MAX_DEPTH) this.fail('pickles nested too deeply');
    const stack: StackItem[] = [];
    const memo = new Map<number, StackItem>();
    const push = (v: StackItem): void => {
      if (stack.length >= MAX_STACK) this.fail('too many values on the pickle stack');
      stack.push(v);
    };
    const pop = (): StackItem => {
      if (stack.length === 0) this.fail('pickle stack underflow');
      return stack.pop() as StackItem;
    };
    const top = (): StackItem => {
      if (stack.length === 0) this.fail('pickle stack underflow');
      return stack[stack.length - 1] as StackItem;
    };
    const popMark = (): StackItem[] => {
      const at = stack.lastIndexOf(MARK);
      if (at < 0) this.fail('missing MARK');
      const items = stack.splice(at);
      items.shift();
      return items;
    };
    const value = (item: StackItem): PyValue => {
      if (item === MARK) this.fail('a MARK used as a value');
      return item;
    };
    const callable = (item: StackItem): PickleClass & { name: string } => {
      if (!(item instanceof PyGlobal)) this.fail('call of something that is not an allowed class');
      return { ...(this.classes.get(item.name) as PickleClass), name: item.name };
    };
    const global = (name: string): PyGlobal => {
      if (!this.classes.has(name)) this.fail(`refers to ${name}, which is not one of the objects the importer reads (${[...this.classes.keys()].join(', ')})`);
      return new PyGlobal(name);
    };
    const setItems = (dict: StackItem, items: StackItem[]): void => {
      if (!(dict instanceof PyDict) || items.length % 2 !== 0) this.fail('SETITEMS on something that is not a dict');
      for (let i = 0; i < items.length; i += 2) {
        const key = value(items[i] as StackItem);
        if (typeof key !== 'string' && typeof key !== 'number') this.fail('dict key that is not a string or number');
        dict.entries.set(key, value(items[i + 1] as StackItem));
      }
    };
    const appendItems = (list: StackItem, items: StackItem[]): void => {
      if (!Array.isArray(list)) this.fail('APPEND on something that is not a list');
      list.push(...items.map(value));
    };

    for (;;) {
      const op = this.byte();
      switch (op) {
        case 0x80: // PROTO
          if (this.byte() > 5) this.fail('pickle protocol above 5');
          break;
        case 0x95: // FRAME: framing only; the data simply continues
          if (this.uint(8, 'a frame length') > this.remaining) this.fail('truncated: a frame runs past the end of the file');
          break;
        case 0x2e: // STOP
          return value(pop());
        case 0x28: push(MARK); break; // MARK
        case 0x7d: push(new PyDict()); break; // EMPTY_DICT
        case 0x5d: push([]); break; // EMPTY_LIST
        case 0x29: push(new PyTuple([])); break; // EMPTY_TUPLE
        case 0x74: push(new PyTuple(popMark().map(value))); break; // TUPLE
        case 0x85: push(new PyTuple([value(pop())])); break; // TUPLE1
        case 0x86: { const b = value(pop()); const a = value(pop()); push(new PyTuple([a, b])); break; } // TUPLE2
        case 0x87: { const c = value(pop()); const b = value(pop()); const a = value(pop()); push(new PyTuple([a, b, c])); break; } // TUPLE3
        case 0x6c: push(popMark().map(value)); break; // LIST
        case 0x64: { const d = new PyDict(); setItems(d, popMark()); push(d); break; } // DICT
        case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
        case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
        case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
        case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
        case 0x4e: push(null); break; // NONE
        case 0x88: push(true); break; // NEWTRUE
        case 0x89: push(false); break; // NEWFALSE
        case 0x4b: push(this.uint(1, 'BININT1')); break;
        case 0x4d: push(this.uint(2, 'BININT2')); break;
        case 0x4a: { const b = this.readBytes(4, 'BININT'); push(new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true)); break; }
        case 0x8a: push(this.long(this.uint(1, 'LONG1 length'))); break;
        case 0x8b: push(this.long(this.uint(4, 'LONG4 length'))); break;
        case 0x47: { const b = this.readBytes(8, 'BINFLOAT'); push(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false)); break; }
        case 0x8c: push(this.text(this.uint(1, 'a string length'), 'a string')); break; // SHORT_BINUNICODE
        case 0x58: push(this.text(this.uint(4, 'a string length'), 'a string')); break; // BINUNICODE
        case 0x8d: push(this.text(this.uint(8, 'a string length'), 'a string')); break; // BINUNICODE8
        case 0x55: push(latin1(this.readBytes(this.uint(1, 'a string length'), 'a string'))); break; // SHORT_BINSTRING
        case 0x54: push(latin1(this.readBytes(this.uint(4, 'a string length'), 'a string'))); break; // BINSTRING
        case 0x43: push(this.readBytes(this.uint(1, 'a bytes length'), 'bytes').slice()); break; // SHORT_BINBYTES
        case 0x42: push(this.readBytes(this.uint(4, 'a bytes length'), 'bytes').slice()); break; // BINBYTES
        case 0x8e: push(this.readBytes(this.uint(8, 'a bytes length'), 'bytes').slice()); break; // BINBYTES8
        case 0x96: push(this.readBytes(this.uint(8, 'a bytearray length'), 'bytearray').slice()); break; // BYTEARRAY8
        case 0x71: memo.set(this.uint(1, 'BINPUT'), top()); break;
        case 0x72: memo.set(this.uint(4, 'LONG_BINPUT'), top()); break;
        case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
        case 0x68: push(this.memoGet(memo, this.uint(1, 'BINGET'))); break;
        case 0x6a: push(this.memoGet(memo, this.uint(4, 'LONG_BINGET'))); break;
        case 0x30: pop(); break; // POP
        case 0x31: popMark(); break; // POP_MARK
        case 0x32: push(top()); break; // DUP
        case 0x63: { const module = this.line('a module name'); push(global(`${module}.${this.line('a class name')}`)); break; } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = value(pop());
          const module = value(pop());
          if (typeof name !== 'string' || typeof module !== 'string') this.fail('STACK_GLOBAL without string names');
          push(global(`${module}.${name}`));
          break;
        }
        case 0x52: { // REDUCE
          const args = value(pop());
          const fn = callable(pop());
          if (!(args instanceof PyTuple)) this.fail(`call of ${fn.name} without an argument tuple`);
          push(this.guard(fn.name, () => fn.call(args.items)));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = value(pop());
          const cls = callable(pop());
          if (!(args instanceof PyTuple)) this.fail(`construction of ${cls.name} without an argument tuple`);
          push(this.guard(cls.name, () => cls.call(args.items)));
          break;
        }
        case 0x62: { // BUILD
          const state = value(pop());
          const target = value(pop());
          if (!(target instanceof PyObject)) this.fail('BUILD on something that is not an object');
          const build = this.classes.get(target.className)?.build;
          if (build === undefined) target.state = state;
          else this.guard(target.className, () => build(target, state, this));
          push(target);
          break;
        }
        default:
          this.fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at offset ${this.position - 1} (only the opcodes of plain data, scikit-learn scalers and numpy arrays are read)`);
      }
    }
  }

  /** Runs an allow-listed handler; its complaints about the data become a LegacyFileError at this offset. */
  private guard<T>(name: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof LegacyFileError) throw error;
      return this.fail(`${name} at offset ${this.position}: ${(error as Error).message}`);
    }
  }

  private memoGet(memo: Map<number, StackItem>, index: number): StackItem {
    if (!memo.has(index)) this.fail(`memo entry ${index} read before it was written`);
    return memo.get(index) as StackItem;
  }

  /** Little-endian two's-complement integer of `size` bytes; only values a double holds exactly. */
  private long(size: number): number {
    if (size > 8) this.fail('integer wider than 64 bits');
    const bytes = this.readBytes(size, 'a long integer');
    let result = 0n;
    for (let i = size - 1; i >= 0; i -= 1) result = (result << 8n) | BigInt(bytes[i] as number);
    if (size > 0 && ((bytes[size - 1] as number) & 0x80) !== 0) result -= 1n << BigInt(8 * size);
    if (result > BigInt(Number.MAX_SAFE_INTEGER) || result < BigInt(Number.MIN_SAFE_INTEGER)) this.fail('integer too large');
    return Number(result);
  }
}

function latin1(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => String.fromCharCode(b)).join('');
}

/** Reads one whole pickle; bytes after its STOP are an error (joblib's array data lies inside the stream, before STOP). */
export function readPickle(data: Uint8Array, classes: PickleClasses, what: string): PyValue {
  const reader = new PickleReader(data, classes, what);
  const result = reader.read();
  if (reader.remaining > 0) reader.fail(`${reader.remaining} unexpected bytes after the end of the pickle`);
  return result;
}

/** A dict's entry, or undefined. */
export function dictGet(value: PyValue, key: string): PyValue | undefined {
  return value instanceof PyDict ? value.entries.get(key) : undefined;
}
