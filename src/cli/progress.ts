import type { TrainingProgress } from '../ml/types.js';

export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Training progress for several models at once. */
export interface ProgressView {
  update(progress: TrainingProgress): void;
  /** Final line for one model (replaces its bar on a terminal). */
  finish(key: string, text: string): void;
  /** A message that is not a progress line. */
  log(text: string): void;
  close(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function formatLoss(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : 'n/a';
}

/** One plain line per epoch: what a log file or CI output should get. */
export function progressLine(p: TrainingProgress): string {
  return `${p.key} epoch ${p.epoch}/${p.epochs} loss=${formatLoss(p.loss)} val_loss=${formatLoss(p.val_loss)} eta=${formatDuration(p.eta_seconds)}`;
}

/** A bar line for a terminal, e.g. `nvda  [#####-----]  12/40 loss 0.8123 val 0.9012 ETA 1m05s`. */
export function progressBar(p: TrainingProgress, width: number): string {
  const fraction = p.epochs > 0 ? Math.min(1, p.epoch / p.epochs) : 0;
  const tail = ` ${String(p.epoch).padStart(String(p.epochs).length)}/${p.epochs} loss ${formatLoss(p.loss)} val ${formatLoss(p.val_loss)} ETA ${formatDuration(p.eta_seconds)}`;
  const label = p.key.padEnd(7);
  const barWidth = Math.max(10, Math.min(40, width - label.length - tail.length - 3));
  const filled = Math.round(fraction * barWidth);
  return `${label}[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`;
}

/**
 * On a terminal: one bar per model, redrawn in place (at most ~10 times a second).
 * Otherwise: one plain line per epoch and per finished model.
 */
export function createProgressView(out: OutputStream): ProgressView {
  return out.isTTY === true ? new TerminalProgress(out) : new PlainProgress(out);
}

class PlainProgress implements ProgressView {
  constructor(private readonly out: OutputStream) {}
  update(progress: TrainingProgress): void {
    this.out.write(`${progressLine(progress)}\n`);
  }
  finish(_key: string, text: string): void {
    this.out.write(`${text}\n`);
  }
  log(text: string): void {
    this.out.write(`${text}\n`);
  }
  close(): void {}
}

const CLEAR_LINE = '\x1b[2K';
const cursorUp = (n: number): string => (n > 0 ? `\x1b[${n}A` : '');
const REDRAW_INTERVAL_MS = 100;

class TerminalProgress implements ProgressView {
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private lastDraw = 0;
  private pending: NodeJS.Timeout | undefined;

  constructor(private readonly out: OutputStream) {}

  update(progress: TrainingProgress): void {
    this.lines.set(progress.key, progressBar(progress, this.out.columns || 100));
    this.schedule();
  }

  finish(key: string, text: string): void {
    this.lines.set(key, text);
    this.draw();
  }

  log(text: string): void {
    // Printed above the bars, which are redrawn below it.
    this.out.write(`${cursorUp(this.drawn)}\r${CLEAR_LINE}${text}\n`);
    this.drawn = 0;
    this.draw();
  }

  close(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    this.draw();
  }

  private schedule(): void {
    const wait = this.lastDraw + REDRAW_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.draw();
    } else if (!this.pending) {
      this.pending = setTimeout(() => {
        this.pending = undefined;
        this.draw();
      }, wait);
    }
  }

  private draw(): void {
    const width = this.out.columns || 100;
    let text = `${cursorUp(this.drawn)}\r`;
    for (const line of this.lines.values()) text += `${CLEAR_LINE}${line.slice(0, Math.max(20, width - 1))}\n`;
    this.out.write(text);
    // Bars are only ever added, so each drawing covers the previous one entirely.
    this.drawn = this.lines.size;
    this.lastDraw = Date.now();
  }
}
