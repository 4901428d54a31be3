import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataLayout, layoutDirectories, type DataLayout } from '../config/layout.js';
import { DIR_MODE, isNotFound, writeFileAtomic } from '../fs/atomic-file.js';
import { ML_CONFIG_FILE } from './ops-config.js';
import { DEFAULT_ACCOUNTS, ownerOf, SERVICE_NAMES, type Account, type ServiceName } from './ownership.js';
import { dataReadme, envFile, mlConfigJson, OPERATOR_SCRIPTS, operatorScript, parseEnvFile, redisConf } from './templates.js';

export class SetupError extends Error {}

export interface SetupOptions {
  readonly root: string;
  /** The compose project's .env (default: beside persistent_data/). */
  readonly envFile?: string;
  /** chown every path to its service's uid (needs root). */
  readonly chown: boolean;
  /** The ops CLI the installed operator scripts call (default: the one this code belongs to). */
  readonly opsCli?: string;
  /** REDIS_PASSWORD from the environment wins over the one in .env. */
  readonly redisPassword?: string | undefined;
  readonly redisMaxMemory?: string;
  readonly now?: Date;
}

export interface SetupResult {
  readonly layout: DataLayout;
  readonly envFile: string;
  /** One line per change made; empty when the tree was already complete. */
  readonly changes: string[];
  readonly accounts: Readonly<Record<ServiceName, Account>>;
}

const WORLD_WRITABLE = 0o002;

export const defaultOpsCli: string = fileURLToPath(new URL('../cli/ops.js', import.meta.url));

/**
 * Creates or completes persistent_data/. Idempotent: on a complete tree it changes nothing
 * (no write, no chmod, no chown), so running it on every deploy is safe.
 */
export async function setupPersistentData(options: SetupOptions): Promise<SetupResult> {
  const layout = dataLayout(options.root);
  const envPath = path.resolve(options.envFile ?? path.join(path.dirname(layout.root), '.env'));
  const changes: string[] = [];
  await checkRoot(layout.root);

  // Without root, every container runs as the operator (compose reads the uids from .env).
  const accounts = options.chown ? DEFAULT_ACCOUNTS : operatorAccounts();
  if (options.chown && process.getuid?.() !== 0) {
    throw new SetupError('changing ownership to the container users needs root: run with sudo, or pass --no-chown to run every container as your own uid');
  }

  for (const dir of layoutDirectories(layout)) {
    try {
      await fs.mkdir(dir, { mode: DIR_MODE });
      changes.push(`created ${dir}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = await fs.lstat(dir);
      if (!info.isDirectory()) throw new SetupError(`${dir} exists but is not a directory`);
    }
  }

  const env = await ensureEnvFile(envPath, accounts, options.now ?? new Date(), changes);
  const redisPassword = options.redisPassword ?? env.get('REDIS_PASSWORD');
  await writeIfAbsent(path.join(layout.config, 'redis.conf'), redisConf({ password: redisPassword, maxMemory: options.redisMaxMemory ?? '256mb' }), 0o640, changes);
  await writeIfAbsent(path.join(layout.config, ML_CONFIG_FILE), mlConfigJson(), 0o644, changes);
  await writeIfChanged(path.join(layout.root, 'README.md'), dataReadme(accounts), 0o644, changes);
  const opsCli = options.opsCli ?? defaultOpsCli;
  for (const [command, name] of Object.entries(OPERATOR_SCRIPTS) as [keyof typeof OPERATOR_SCRIPTS, string][]) {
    await writeIfChanged(path.join(layout.root, name), operatorScript(command, opsCli), 0o755, changes);
  }

  await fixPermissions(layout, options.chown ? accounts : undefined, changes);
  return { layout, envFile: envPath, changes, accounts };
}

async function checkRoot(root: string): Promise<void> {
  let info;
  try {
    info = await fs.stat(root);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  if (!info.isDirectory()) throw new SetupError(`${root} exists but is not a directory`);
  try {
    await fs.access(root, constants.W_OK | constants.X_OK);
  } catch {
    throw new SetupError(`${root} is not writable by uid ${process.getuid?.() ?? '?'}: fix its owner or run setup as its owner`);
  }
}

function operatorAccounts(): Record<ServiceName, Account> {
  const self = { uid: process.getuid?.() ?? 1001, gid: process.getgid?.() ?? 1001 };
  return Object.fromEntries(SERVICE_NAMES.map((service) => [service, self])) as Record<ServiceName, Account>;
}

function secret(): string {
  return randomBytes(24).toString('base64url');
}

async function ensureEnvFile(file: string, accounts: Readonly<Record<ServiceName, Account>>, now: Date, changes: string[]): Promise<Map<string, string>> {
  try {
    return parseEnvFile(await fs.readFile(file, 'utf8'));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const text = envFile({ grafanaAdminPassword: secret(), redisPassword: secret(), postgresPassword: secret(), apiKey: secret(), accounts }, now);
  await writeFileAtomic(file, text);
  await fs.chmod(file, 0o600);
  changes.push(`created ${file} (random Grafana, Redis and API key secrets, mode 600)`);
  return parseEnvFile(text);
}

async function writeIfAbsent(file: string, content: string, mode: number, changes: string[]): Promise<void> {
  try {
    await fs.access(file);
    return; // the operator may have edited it: never overwrite
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  await writeFileAtomic(file, content);
  await fs.chmod(file, mode);
  changes.push(`wrote ${file}`);
}

/** For files that belong to the project (operator scripts, README): keep them current, touch nothing when equal. */
async function writeIfChanged(file: string, content: string, mode: number, changes: string[]): Promise<void> {
  try {
    if ((await fs.readFile(file, 'utf8')) === content) return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  await writeFileAtomic(file, content);
  await fs.chmod(file, mode);
  changes.push(`wrote ${file}`);
}

/**
 * Removes world-write bits anywhere in the tree (the v3.3.1 setup left 777 directories behind)
 * and, as root, gives each path to its service's user. The Redis config holds the password:
 * it belongs to the app, readable by the redis group only.
 */
async function fixPermissions(layout: DataLayout, accounts: Readonly<Record<ServiceName, Account>> | undefined, changes: string[]): Promise<void> {
  const redisConfPath = path.join(layout.config, 'redis.conf');
  async function visit(target: string): Promise<void> {
    const info = await fs.lstat(target);
    if (info.isSymbolicLink()) return;
    if ((info.mode & WORLD_WRITABLE) !== 0) {
      await fs.chmod(target, info.mode & ~WORLD_WRITABLE);
      changes.push(`removed world-write permission from ${target}`);
    }
    if (accounts !== undefined) {
      const owner = accounts[ownerOf(layout, target)];
      const gid = target === redisConfPath ? accounts.redis.gid : owner.gid;
      if (info.uid !== owner.uid || info.gid !== gid) {
        await fs.lchown(target, owner.uid, gid);
        changes.push(`chown ${owner.uid}:${gid} ${target}`);
      }
    }
    if (info.isDirectory()) {
      for (const name of await fs.readdir(target)) await visit(path.join(target, name));
    }
  }
  await visit(layout.root);
}
