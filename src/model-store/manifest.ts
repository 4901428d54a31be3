import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CorruptModelError } from '../errors.js';
import { isNotFound, writeFileAtomic } from '../fs/atomic-file.js';

export const MANIFEST_JSON = 'manifest.json';
export const MANIFEST_FORMAT = 'stock-prediction-model/1';

export interface FileDigest {
  readonly sha256: string;
  readonly bytes: number;
}

/**
 * The list of every file of a model version with its checksum. It is written last,
 * so a version without one was never finished.
 */
export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly key: string;
  readonly version: string;
  readonly created_at: string;
  /** Files inside the version folder. */
  readonly files: Readonly<Record<string, FileDigest>>;
  /** The scaler file under scalers/ that belongs to this version. */
  readonly scaler: FileDigest & { readonly file: string };
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function digest(bytes: Uint8Array): FileDigest {
  return { sha256: sha256(bytes), bytes: bytes.byteLength };
}

export async function writeManifest(versionDir: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(path.join(versionDir, MANIFEST_JSON), `${JSON.stringify(manifest, null, 2)}\n`);
}

export async function readManifest(versionDir: string): Promise<Manifest> {
  const file = path.join(versionDir, MANIFEST_JSON);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) {
      throw new CorruptModelError(`${file} is missing: the model version is incomplete (interrupted save?)`, { file });
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CorruptModelError(`${file} is not valid JSON`, { file });
  }
  if (!isManifest(parsed)) throw new CorruptModelError(`${file} is not a ${MANIFEST_FORMAT} manifest`, { file });
  return parsed;
}

/** Throws CorruptModelError naming the file when `bytes` are not what the manifest recorded. */
export function checkDigest(file: string, bytes: Uint8Array, expected: FileDigest | undefined): void {
  if (expected === undefined) throw new CorruptModelError(`${file} is not listed in the model manifest`, { file });
  if (bytes.byteLength !== expected.bytes) {
    throw new CorruptModelError(`${file} has ${bytes.byteLength} bytes, the manifest records ${expected.bytes} (truncated or replaced)`, { file });
  }
  if (sha256(bytes) !== expected.sha256) {
    throw new CorruptModelError(`${file} does not match its sha256 in the model manifest (corrupt or modified)`, { file });
  }
}

function isDigest(value: unknown): value is FileDigest {
  const v = value as Partial<FileDigest> | null;
  return typeof v === 'object' && v !== null && typeof v.sha256 === 'string' && typeof v.bytes === 'number';
}

function isManifest(value: unknown): value is Manifest {
  const v = value as Partial<Manifest> | null;
  return (
    typeof v === 'object' && v !== null &&
    v.format === MANIFEST_FORMAT &&
    typeof v.key === 'string' && typeof v.version === 'string' &&
    typeof v.files === 'object' && v.files !== null && Object.values(v.files).every(isDigest) &&
    isDigest(v.scaler) && typeof (v.scaler as { file?: unknown }).file === 'string'
  );
}
