import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The installed project's root (where models/, data/sample/ and the built web UI live).
 * Compiled code runs from <root>/<outDir>/src/config/, three levels below it.
 */
export const packageRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/** The installed project's version, from its package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}
