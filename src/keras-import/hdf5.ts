import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as h5wasm from 'h5wasm/node';
import { LegacyFileError } from '../errors.js';

/**
 * Read-only access to an HDF5 file through h5wasm (the HDF5 C library compiled to WebAssembly, so
 * no native build and no Python). The file is copied into h5wasm's in-memory file system and opened
 * with HDF5's error handler set to throw, so a truncated or malformed file is a LegacyFileError,
 * never a crash or a message on stderr. Shapes and sizes are readable before any data is.
 */

/** Keras models of the sizes this service serves are a few MB; anything far larger is refused before it is read. */
export const MAX_HDF5_BYTES = 256 * 1024 * 1024;
/** model_config and the name lists are small JSON / string attributes. */
const MAX_ATTRIBUTE_ELEMENTS = 1_000_000;

let ready: Promise<void> | undefined;
let sequence = 0;

function init(): Promise<void> {
  ready ??= h5wasm.ready.then((module) => {
    module.activate_throwing_error_handler();
  });
  return ready;
}

/** The most specific line of HDF5's error stack ("truncated file: eof = …", "file signature not found"). */
function hdf5Reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const details = [...text.matchAll(/ in [A-Za-z0-9_]+\(\): ([^\n]+)/g)].map((m) => m[1] as string);
  return details.at(-1) ?? text.split('\n')[0] ?? 'unreadable';
}

export interface DatasetInfo {
  readonly shape: readonly number[];
  /** 'float' or 'int' (HDF5 class), and bytes per element. */
  readonly kind: 'float' | 'int' | 'other';
  readonly bytes: number;
}

export class Hdf5File {
  private constructor(
    private readonly file: h5wasm.File,
    private readonly memoryPath: string,
    readonly name: string,
  ) {}

  /** Opens `file` read-only; refuses a missing, oversized, truncated or non-HDF5 file. */
  static async open(file: string): Promise<Hdf5File> {
    const name = path.basename(file);
    const stat = await fs.stat(file).catch(() => {
      throw new LegacyFileError(`${name}: no such file`, { file: name });
    });
    if (!stat.isFile()) throw new LegacyFileError(`${name}: not a regular file`, { file: name });
    if (stat.size > MAX_HDF5_BYTES) throw new LegacyFileError(`${name}: ${stat.size} bytes is larger than the ${MAX_HDF5_BYTES} a Keras stock model can be`, { file: name });
    const bytes = await fs.readFile(file);
    await init();
    const FS = h5wasm.FS as unknown as { writeFile(p: string, d: Uint8Array): void; unlink(p: string): void };
    const memoryPath = `/import-${process.pid}-${(sequence += 1)}.h5`;
    FS.writeFile(memoryPath, bytes);
    try {
      const opened = new h5wasm.File(memoryPath, 'r');
      if (opened.file_id < 0n) throw new Error('could not open');
      return new Hdf5File(opened, memoryPath, name);
    } catch (error) {
      FS.unlink(memoryPath);
      throw new LegacyFileError(`${name}: not a readable HDF5 file (${hdf5Reason(error)})`, { file: name });
    }
  }

  close(): void {
    try {
      this.file.close();
    } finally {
      (h5wasm.FS as unknown as { unlink(p: string): void }).unlink(this.memoryPath);
    }
  }

  private fail(message: string): never {
    throw new LegacyFileError(`${this.name}: ${message}`, { file: this.name });
  }

  private guard<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof LegacyFileError) throw error;
      return this.fail(`${what} is unreadable (${hdf5Reason(error)})`);
    }
  }

  private entity(objectPath: string): h5wasm.Group | h5wasm.Dataset | null {
    return this.guard(objectPath, () => {
      const found = this.file.get(objectPath);
      return found instanceof h5wasm.Group || found instanceof h5wasm.Dataset ? found : null;
    });
  }

  isGroup(objectPath: string): boolean {
    return this.entity(objectPath) instanceof h5wasm.Group;
  }

  /**
   * A string or string-list attribute, or undefined when absent. Keras splits attributes over 64 KB
   * into NAME0, NAME1, …, which are joined back here.
   */
  stringAttribute(objectPath: string, name: string): string | string[] | undefined {
    const owner = this.entity(objectPath);
    if (owner === null) return undefined;
    return this.guard(`attribute ${name} of ${objectPath}`, () => {
      const attrs = owner.attrs;
      if (attrs[name] !== undefined) return this.attributeValue(attrs[name] as h5wasm.Attribute, name);
      if (attrs[`${name}0`] === undefined) return undefined;
      const parts: string[] = [];
      for (let chunk = 0; attrs[`${name}${chunk}`] !== undefined; chunk += 1) {
        const value = this.attributeValue(attrs[`${name}${chunk}`] as h5wasm.Attribute, name);
        parts.push(...(Array.isArray(value) ? value : [value]));
      }
      return parts;
    });
  }

  private attributeValue(attribute: h5wasm.Attribute, name: string): string | string[] {
    const elements = (attribute.shape ?? []).reduce((a, b) => a * b, 1);
    if (elements > MAX_ATTRIBUTE_ELEMENTS || attribute.metadata.size * elements > 64 * 1024 * 1024) this.fail(`attribute ${name} is implausibly large`);
    // Keras writes an empty list (e.g. weight_names of a Dropout layer) as an empty float array.
    if (elements === 0) return [];
    const value = attribute.value;
    const text = (v: unknown): string => {
      if (typeof v === 'string') return v;
      if (v instanceof Uint8Array) return new TextDecoder().decode(v);
      return this.fail(`attribute ${name} is not text`);
    };
    return Array.isArray(value) ? value.map(text) : text(value);
  }

  /** Shape and element type of a dataset, read without reading its data; undefined when absent. */
  datasetInfo(objectPath: string): DatasetInfo | undefined {
    const found = this.entity(objectPath);
    if (!(found instanceof h5wasm.Dataset)) return undefined;
    return this.guard(objectPath, () => {
      const meta = found.metadata;
      // HDF5 type classes: 0 integer, 1 float.
      const kind = meta.type === 1 ? 'float' : meta.type === 0 ? 'int' : 'other';
      return { shape: meta.shape ?? [], kind, bytes: meta.size };
    });
  }

  /** A float dataset's values as float32, after its shape was checked by the caller. */
  readFloats(objectPath: string): Float32Array {
    const found = this.entity(objectPath);
    if (!(found instanceof h5wasm.Dataset)) this.fail(`${objectPath} is missing`);
    return this.guard(objectPath, () => {
      const value = found.value;
      if (value instanceof Float32Array) return value;
      if (value instanceof Float64Array) return Float32Array.from(value);
      return this.fail(`${objectPath} does not hold floating-point numbers`);
    });
  }
}
