import path from 'node:path';
import { type DataLayout, layoutDirectories } from '../config/layout.js';
import { packageRoot } from '../config/package-root.js';

/**
 * Messages that clients read (model load failures in /api/v1/models and /health, error bodies) say which file
 * failed without showing where the server keeps its files: a path inside the data tree becomes relative to it
 * (`ml_models/nvda_lstm_model/v…/weights.bin`), one in a directory configured outside it keeps only that
 * directory's name. The log keeps the absolute path.
 */
export function serverPathRedactor(layout: DataLayout, otherRoots: readonly string[] = [packageRoot]): (message: string) => string {
  const root = path.resolve(layout.root);
  const labelOf = (dir: string): string => {
    const relative = path.relative(root, dir);
    return relative.startsWith('..') || path.isAbsolute(relative) ? path.basename(dir) : relative;
  };
  // Longest first, so the most specific directory names the path.
  const dirs = [...new Set([...layoutDirectories(layout), ...otherRoots].map((d) => path.resolve(d)))]
    .filter((d) => d !== path.parse(d).root)
    .sort((a, b) => b.length - a.length)
    .map((dir) => ({ prefix: `${dir}${path.sep}`, dir, label: labelOf(dir) }));
  return (message) => {
    let out = message;
    for (const { prefix, dir, label } of dirs) {
      if (!out.includes(dir)) continue;
      out = out.split(prefix).join(label === '' ? '' : `${label}/`).split(dir).join(label === '' ? '.' : label);
    }
    return out;
  };
}

/** `details` of an error body with the same treatment for each string value. */
export function redactDetails(details: Record<string, unknown>, redact: (message: string) => string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).map(([name, value]) => [name, typeof value === 'string' ? redact(value) : value]));
}
