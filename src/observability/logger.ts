import { once } from 'node:events';
import { lstatSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DIR_MODE } from '../fs/atomic-file.js';
import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';
import pinoRoll, { type RollingStream } from 'pino-roll';
import { GuardedDestination, type LogFileState } from './guarded-destination.js';

/**
 * The service's pino logger: JSON lines to stdout and to the application log file, rotated by size and daily
 * (pino-roll), with secrets removed before a line reaches either destination.
 *
 * pino-roll names its files `<base>.<date>.<n>.log`; `stock-prediction.log` (the path the seed and operators use,
 * or LOG_FILE) is kept as a symlink to this process's active file, so `tail -F logs/application/stock-prediction.log`
 * follows rotation, also with several processes (replicas, each with its own LOG_FILE) logging into one folder.
 */
export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** The application log path, e.g. persistent_data/logs/application/stock-prediction.log; undefined = stdout only. */
  readonly file?: string | undefined;
  readonly maxSize?: string;
  readonly keepFiles?: number;
  readonly stdout?: boolean;
  /** Literal values that must never appear in a log line (API keys, Redis passwords). */
  readonly secrets?: readonly string[];
  /** Called for each line the file could not take (full disk): the log_lines_dropped_total metric. */
  readonly onDrop?: () => void;
}

export interface AppLogger {
  readonly logger: Logger;
  /** The log file's state (undefined when logging to stdout only). */
  fileState(): LogFileState | undefined;
  /** Flush and close the file destination (at shutdown). */
  close(): Promise<void>;
}

/** Header and field paths pino removes from every logged object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'apiKey',
  'apiKeys',
  'api_keys',
  'password',
  '*.password',
  '*.apiKeys',
];

/** `scheme://user:password@host` → `scheme://user:[REDACTED]@host`, for any URL in any line. */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s"]*):([^@/\s"]+)@/gi;

export function redactLine(line: string, secrets: readonly string[] = []): string {
  // Most lines hold no URL: skip the regex scan for them (this runs once per logged line).
  let out = line.includes('://') ? line.replace(URL_CREDENTIALS, '$1:[REDACTED]@') : line;
  for (const secret of secrets) {
    if (secret.length > 0 && out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  }
  return out;
}


/** Redacts each line once, then hands it to every target (stdout and the file take the same lines). */
function redactingStream(targets: readonly Pick<DestinationStream, 'write'>[], secrets: readonly string[]): DestinationStream {
  return {
    write: (line: string) => {
      const clean = redactLine(line, secrets);
      for (const target of targets) target.write(clean);
    },
  };
}

/**
 * Points `logFile` (the stable name) at `activeFile`, the dated file this process has just opened. Each process
 * links its own name: pino-roll's `symlink` option keeps one `current.log` per folder, which replicas sharing the
 * folder re-point at each other's files. The target is relative, so the folder can be moved or restored elsewhere.
 * The new link is made under a temporary name and renamed over the old one: a reader or a crash never finds the
 * name missing or pointing anywhere but one of this process's files.
 */
function linkStablePath(logFile: string, activeFile: string): void {
  const existing = lstatSync(logFile, { throwIfNoEntry: false });
  // A regular file there is someone else's (an older release's log): leave it alone.
  if (existing && !existing.isSymbolicLink()) return;
  const temp = path.join(path.dirname(logFile), `.${path.basename(logFile)}.${process.pid}.tmp`);
  rmSync(temp, { force: true });
  symlinkSync(path.basename(activeFile), temp);
  renameSync(temp, logFile);
}

/**
 * Keeps `logFile` on the file `rolled` writes, from its first open through every rotation; resolves once the
 * first file is open and linked. Linking synchronously in SonicBoom's 'ready' (emitted before it writes anything
 * into the newly opened file) means the name never lags behind the lines; it happens once per rotation.
 */
async function followActiveFile(rolled: RollingStream, logFile: string, logger: Logger): Promise<void> {
  rolled.on('ready', () => {
    if (rolled.file === null) return;
    try {
      linkStablePath(logFile, rolled.file);
    } catch (error) {
      // Logging goes on; the name stays on this process's previous file and the next rotation tries again.
      logger.warn({ err: error, log_file: logFile }, 'could not point the log file name at the rotated file');
    }
  });
  // SonicBoom opens its first file asynchronously, in an I/O callback that cannot have run since pino-roll
  // returned, so this 'ready' is that first open. A file that cannot be opened (full disk) is the
  // GuardedDestination's to report: logging starts degraded, without the link, instead of failing start-up.
  await once(rolled, 'ready').catch(() => undefined);
}

export async function createAppLogger(options: LoggerOptions): Promise<AppLogger> {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const targets: Pick<DestinationStream, 'write'>[] = [];
  // stdout through sonic-boom, written asynchronously: process.stdout to a pipe or file is one synchronous
  // write(2) per line, a large share of a cached request's cost at LOG_LEVEL=info. Lines that arrive while a
  // write is in flight are written together with the next one; nothing waits for a buffer to fill, and whatever
  // is pending is flushed synchronously when the process exits.
  const stdout = options.stdout !== false ? pino.destination({ dest: 1, sync: false }) : undefined;
  const flushStdout = (): void => {
    try {
      stdout?.flushSync();
    } catch {
      // stdout already closed (the reader went away): nothing left to save.
    }
  };
  if (stdout) {
    targets.push(stdout);
    process.once('exit', flushStdout);
  }

  let file: GuardedDestination | undefined;
  let rolled: RollingStream | undefined;
  if (options.file !== undefined) {
    const dir = path.dirname(options.file);
    const base = path.basename(options.file).replace(/\.log$/, '');
    await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
    rolled = await pinoRoll({
      file: path.join(dir, base),
      extension: '.log',
      frequency: 'daily',
      dateFormat: 'yyyy-MM-dd',
      size: options.maxSize ?? '10m',
      mkdir: true,
      // Explicit, so that a umask of 000 cannot make the log world-writable.
      mode: 0o640,
      limit: { count: options.keepFiles ?? 14 },
    });
    // A full disk drops and counts lines instead of crashing; lines logged after close (a dependency's
    // error during shutdown) are dropped instead of thrown from a destroyed stream.
    file = new GuardedDestination(rolled, options.onDrop ? { onDrop: options.onDrop } : {});
    targets.push(file);
  }

  const logger = pino(
    {
      level: options.level,
      base: { service: 'stock-prediction' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    redactingStream(targets, secrets),
  );
  if (rolled && options.file !== undefined) await followActiveFile(rolled, options.file, logger);

  return {
    logger,
    fileState: () => file?.state(),
    close: async () => {
      flushStdout();
      process.removeListener('exit', flushStdout);
      await file?.close();
    },
  };
}
