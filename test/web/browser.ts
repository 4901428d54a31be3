import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot } from '../helpers/paths.js';

/** Debian's Chromium; `CHROMIUM_PATH` points elsewhere on other systems. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Flags that keep Chromium off the network (this machine has none) and runnable as root in CI. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium. A missing browser fails the test loudly: browser tests are never skipped. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. Install Debian's chromium package (scripts/install-test-deps.sh) or set CHROMIUM_PATH; the browser tests do not skip.`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** Screenshots and downloads of the browser tests (git-ignored). */
export const artifactsDir = path.join(repoRoot, 'test-artifacts', 'web');

export async function artifactPath(name: string): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  return path.join(artifactsDir, name);
}
