import type { SonicBoom } from 'sonic-boom';
import { errorMessage } from '../errors.js';

/** The application log file's state, for /health and the log_lines_dropped_total metric. */
export interface LogFileState {
  /** True while writes fail (full disk, I/O error): lines are being dropped. */
  readonly failing: boolean;
  /** Lines dropped since start because the file could not be written. */
  readonly dropped: number;
  /** The last write error (e.g. "ENOSPC: no space left on device, write"). */
  readonly lastError: string | undefined;
}

export interface GuardedDestinationOptions {
  /** Called once per dropped line (the metric). */
  readonly onDrop?: () => void;
  /** While failing, one line per interval is let through to find out whether the disk has room again. */
  readonly probeIntervalMs?: number;
}

/**
 * Wraps the rotated log file so that a failed write degrades logging instead of killing the process.
 * SonicBoom emits 'error' on ENOSPC/EIO, which without a listener is an uncaught exception (exit 7).
 * Here the error is recorded, following lines are dropped and counted, and every `probeIntervalMs` one line
 * goes through: SonicBoom retries its unwritten buffer with it, and its first successful write ('write' event)
 * ends the failing state. What SonicBoom already held when the disk filled is written then, not lost.
 */
export class GuardedDestination {
  private failingSince: number | undefined;
  private nextProbe = 0;
  private droppedLines = 0;
  private lastError: string | undefined;
  private closed = false;
  private readonly probeIntervalMs: number;

  constructor(private readonly target: SonicBoom, private readonly options: GuardedDestinationOptions = {}) {
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    target.on('error', (error: unknown) => {
      this.lastError = errorMessage(error);
      this.failingSince ??= Date.now();
      this.nextProbe = Date.now() + this.probeIntervalMs;
      // A write that fails while closing would leave end() waiting forever: give up the buffer.
      if (this.closed) target.destroy();
    });
    target.on('write', () => {
      this.failingSince = undefined;
    });
  }

  write(line: string): void {
    if (this.closed) return;
    if (this.failingSince !== undefined && Date.now() < this.nextProbe) {
      this.droppedLines += 1;
      this.options.onDrop?.();
      return;
    }
    // The probe's own attempt may fail again; the next one waits another interval.
    if (this.failingSince !== undefined) this.nextProbe = Date.now() + this.probeIntervalMs;
    this.target.write(line);
  }

  state(): LogFileState {
    return { failing: this.failingSince !== undefined, dropped: this.droppedLines, lastError: this.lastError };
  }

  /**
   * Writes what is buffered and closes the file. On a disk that still refuses writes the unwritten buffer is
   * discarded (end() would retry it forever and hold shutdown until its timeout).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stream = this.target;
    await new Promise<void>((resolve) => {
      stream.once('close', () => resolve());
      if (this.failingSince !== undefined) {
        stream.destroy();
        return;
      }
      stream.end();
    });
  }
}
