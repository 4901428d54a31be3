import { createHmac, timingSafeEqual } from 'node:crypto';
import { ArchiveRejectedError } from './backup-manifest.js';

/**
 * Optional authenticity for backups. MANIFEST.json lists the size and sha256 of every file, so an HMAC-SHA256
 * of its exact bytes under a key only the operator holds (BACKUP_HMAC_KEY) covers the whole archive: someone who
 * rewrites files and recomputes their checksums cannot produce the matching MANIFEST.sig without the key.
 */
export const BACKUP_SIGNATURE_NAME = 'MANIFEST.sig';
export const BACKUP_HMAC_ENV = 'BACKUP_HMAC_KEY';
const ALGORITHM = 'hmac-sha256';
const MIN_KEY_LENGTH = 16;

/** The key from the environment: undefined when unset or empty; too short a key is refused, never used. */
export function backupKeyFrom(env: NodeJS.ProcessEnv): string | undefined {
  const key = env[BACKUP_HMAC_ENV];
  if (key === undefined || key === '') return undefined;
  if (key.length < MIN_KEY_LENGTH) throw new ArchiveRejectedError(`${BACKUP_HMAC_ENV} must be at least ${MIN_KEY_LENGTH} characters`);
  return key;
}

function mac(manifestText: string, key: string): Buffer {
  return createHmac('sha256', key).update(manifestText, 'utf8').digest();
}

/** The content of MANIFEST.sig for this manifest text. */
export function signManifest(manifestText: string, key: string): string {
  return `${ALGORITHM} ${mac(manifestText, key).toString('hex')}\n`;
}

/** Throws unless `signatureText` is the signature of `manifestText` under `key` (a missing signature fails too). */
export function checkManifestSignature(archive: string, manifestText: string, signatureText: string | undefined, key: string): void {
  if (signatureText === undefined) {
    throw new ArchiveRejectedError(`${archive} is not signed (no ${BACKUP_SIGNATURE_NAME}) but ${BACKUP_HMAC_ENV} is set: refusing an unauthenticated archive`);
  }
  const [algorithm, hex] = signatureText.trim().split(/\s+/);
  const expected = mac(manifestText, key);
  const actual = algorithm === ALGORITHM && /^[0-9a-f]{64}$/.test(hex ?? '') ? Buffer.from(hex ?? '', 'hex') : Buffer.alloc(0);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new ArchiveRejectedError(`${archive}: ${BACKUP_SIGNATURE_NAME} signature does not match (rewritten archive, or another ${BACKUP_HMAC_ENV})`);
  }
}
