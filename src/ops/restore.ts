import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { layoutDirectories, type DataLayout } from '../config/layout.js';
import { DIR_MODE, isNotFound, tempNameFor } from '../fs/atomic-file.js';
import { sha256File } from '../fs/file-digest.js';
import {
  ArchiveRejectedError, BACKUP_MANIFEST_NAME, isMergedSection, parseBackupManifest, sectionDirectory,
  type BackupManifest, type SectionName,
} from './backup-manifest.js';
import { BACKUP_SIGNATURE_NAME, checkManifestSignature } from './backup-signature.js';
import { readArchiveFiles } from './archive-files.js';
import { fileStamp, walkFiles } from './files.js';

export interface SectionChanges {
  readonly section: SectionName;
  readonly directory: string;
  /** `logs` is merged (files added or replaced, none removed); every other section is swapped whole. */
  readonly mode: 'swap' | 'merge';
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
}

export interface RestorePlan {
  readonly archive: string;
  readonly manifest: BackupManifest;
  readonly sections: SectionChanges[];
  readonly verifiedFiles: number;
}

export interface RestoreResult extends RestorePlan {
  /** Where the replaced files were moved (undefined when nothing was replaced). */
  readonly safetyCopy: string | undefined;
}

/**
 * Reads the whole archive once, hashing every entry, and checks it against its manifest:
 * same set of files, same sizes, same sha256. Nothing is written. A truncated or tampered
 * archive fails here. With `hmacKey`, MANIFEST.sig must also be the manifest's HMAC under that key,
 * so an archive whose files and manifest were rewritten together fails too.
 */
export async function verifyArchive(archive: string, hmacKey?: string): Promise<BackupManifest> {
  const files = await readArchiveFiles(
    archive,
    (name) => name === BACKUP_MANIFEST_NAME || name === BACKUP_SIGNATURE_NAME,
    ({ name, type }) => (type === 'Directory' || type === 'File' || type === 'OldFile' ? undefined : `${name} is a ${type}, only files are allowed`),
  );
  const manifestText = files.find((f) => f.name === BACKUP_MANIFEST_NAME)?.text;
  const signatureText = files.find((f) => f.name === BACKUP_SIGNATURE_NAME)?.text;
  const seen = new Map(files.filter((f) => f.name !== BACKUP_MANIFEST_NAME && f.name !== BACKUP_SIGNATURE_NAME).map((f) => [f.name, f]));
  if (manifestText === undefined) throw new ArchiveRejectedError(`${archive} has no ${BACKUP_MANIFEST_NAME}`);
  if (hmacKey !== undefined) checkManifestSignature(archive, manifestText, signatureText, hmacKey);
  const manifest = parseBackupManifest(manifestText, archive);
  for (const [name, expected] of Object.entries(manifest.files)) {
    const actual = seen.get(name);
    if (actual === undefined) throw new ArchiveRejectedError(`${archive}: ${name} is in the manifest but missing from the archive`);
    if (actual.bytes !== expected.bytes || actual.sha256 !== expected.sha256) {
      throw new ArchiveRejectedError(`${archive}: ${name} does not match its manifest checksum (tampered or corrupt)`);
    }
  }
  for (const name of seen.keys()) {
    if (!(name in manifest.files)) throw new ArchiveRejectedError(`${archive}: ${name} is not listed in the manifest`);
  }
  return manifest;
}

/** What a restore of `manifest` would change in the current tree (read-only). */
export async function planRestore(layout: DataLayout, archive: string, manifest: BackupManifest): Promise<RestorePlan> {
  const sections: SectionChanges[] = [];
  for (const section of manifest.sections) {
    const directory = sectionDirectory(layout, section);
    const prefix = `${section}/`;
    const incoming = new Map(Object.entries(manifest.files).filter(([name]) => name.startsWith(prefix)).map(([name, digest]) => [name.slice(prefix.length), digest]));
    const current = await walkFiles(directory);
    const currentNames = new Set(current.map((entry) => entry.rel));
    const added: string[] = [];
    const changed: string[] = [];
    for (const [rel, digest] of incoming) {
      if (!currentNames.has(rel)) added.push(rel);
      else if (!(await sameContent(path.join(directory, rel), digest))) changed.push(rel);
    }
    const mode = isMergedSection(section) ? 'merge' : 'swap';
    const removed = mode === 'swap' ? current.map((entry) => entry.rel).filter((rel) => !incoming.has(rel)) : [];
    sections.push({ section, directory, mode, added, changed, removed });
  }
  return { archive, manifest, sections, verifiedFiles: Object.keys(manifest.files).length };
}

async function sameContent(file: string, digest: { bytes: number; sha256: string }): Promise<boolean> {
  const info = await fs.stat(file);
  return info.size === digest.bytes && (await sha256File(file)) === digest.sha256;
}

export interface RestoreOptions {
  readonly layout: DataLayout;
  readonly archive: string;
  /** BACKUP_HMAC_KEY: the archive must carry a matching MANIFEST.sig. */
  readonly hmacKey?: string | undefined;
  /** Called with the plan before anything is changed; false aborts with nothing changed. */
  readonly confirm: (plan: RestorePlan) => Promise<boolean>;
  readonly now?: Date;
}

export class RestoreAbortedError extends Error {}

/**
 * Verifies, plans, asks, then extracts into a temporary folder inside persistent_data and
 * renames each section into place. What it replaces is moved (not deleted) to
 * backups/pre_restore_<UTC>/, so a restore can itself be undone.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { layout } = options;
  const manifest = await verifyArchive(options.archive, options.hmacKey);
  const plan = await planRestore(layout, options.archive, manifest);
  if (!(await options.confirm(plan))) throw new RestoreAbortedError('restore cancelled: nothing was changed');

  // Disaster recovery starts from nothing: persistent_data itself may be gone.
  await fs.mkdir(layout.root, { recursive: true, mode: DIR_MODE });
  const staging = tempNameFor(path.join(layout.root, 'restore'));
  await fs.mkdir(staging, { mode: 0o700 });
  let safetyCopy: string | undefined;
  try {
    // Modes from the archive, masked explicitly (not by the process umask, which may be 000): nothing world-writable.
    await tar.x({ file: options.archive, cwd: staging, strict: true, chmod: true, processUmask: 0o022, filter: (name) => name.replace(/\/$/, '') === BACKUP_MANIFEST_NAME || manifest.sections.some((s) => name === s || name.startsWith(`${s}/`)) });
    // The extracted files are what gets swapped in: check them once more on disk.
    for (const [name, digest] of Object.entries(manifest.files)) {
      if (!(await sameContent(path.join(staging, ...name.split('/')), digest))) {
        throw new ArchiveRejectedError(`${options.archive}: ${name} changed while extracting (disk problem?)`);
      }
    }
    const safetyDir = path.join(layout.backups, `pre_restore_${fileStamp(options.now ?? new Date())}`);
    const ensureSafety = async (): Promise<string> => {
      await fs.mkdir(safetyDir, { recursive: true, mode: 0o750 });
      safetyCopy = safetyDir;
      return safetyDir;
    };
    for (const section of plan.sections) {
      const extracted = path.join(staging, section.section);
      await fs.mkdir(extracted, { recursive: true, mode: DIR_MODE });
      if (section.mode === 'merge') await mergeSection(section, extracted, ensureSafety);
      else await swapSection(section, extracted, ensureSafety);
    }
    // Empty folders of the layout (stock_data/cache, ...) are not in the archive's file list.
    for (const dir of layoutDirectories(layout)) await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
    return { ...plan, safetyCopy };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

async function swapSection(section: SectionChanges, extracted: string, ensureSafety: () => Promise<string>): Promise<void> {
  let previous: { uid: number; gid: number; mode: number } | undefined;
  try {
    const info = await fs.stat(section.directory);
    previous = { uid: info.uid, gid: info.gid, mode: info.mode & ~fsConstants.S_IFMT };
    await fs.rename(section.directory, path.join(await ensureSafety(), section.section));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  await fs.mkdir(path.dirname(section.directory), { recursive: true, mode: DIR_MODE });
  await fs.rename(extracted, section.directory);
  if (previous !== undefined) {
    await fs.chmod(section.directory, previous.mode);
    await giveTo(section.directory, previous.uid, previous.gid);
  }
}

async function mergeSection(section: SectionChanges, extracted: string, ensureSafety: () => Promise<string>): Promise<void> {
  const owner = await fs.stat(section.directory).catch(() => undefined);
  for (const rel of [...section.added, ...section.changed]) {
    const target = path.join(section.directory, rel);
    if (section.changed.includes(rel)) {
      const keep = path.join(await ensureSafety(), section.section, rel);
      await fs.mkdir(path.dirname(keep), { recursive: true, mode: DIR_MODE });
      await fs.rename(target, keep);
    }
    await fs.mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
    await fs.rename(path.join(extracted, rel), target);
    if (owner !== undefined) await giveTo(target, owner.uid, owner.gid);
  }
}

/** As root, restored files keep the owner of what they replace (the container user), not root. */
async function giveTo(target: string, uid: number, gid: number): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const info = await fs.lstat(target);
  await fs.lchown(target, uid, gid);
  if (info.isDirectory()) {
    for (const name of await fs.readdir(target)) await giveTo(path.join(target, name), uid, gid);
  }
}
