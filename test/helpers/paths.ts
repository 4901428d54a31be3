import path from 'node:path';
import { packageRoot } from '../../src/config/package-root.js';

/**
 * Everything the tests read lives inside the repository, so a clone with nothing beside it
 * passes its own test command.
 */
export const repoRoot = packageRoot;
/** The shipped real daily bars (the same CSVs the service seeds its history from). */
export const sampleDir = path.join(repoRoot, 'data', 'sample');
/** Recorded Yahoo chart responses (provenance in `SOURCES.md` beside them). */
export const yahooFixturesDir = path.join(repoRoot, 'test', 'fixtures', 'yahoo');
/** The seed release notes' mandatory volume mounts, per compose service. */
export const seedVolumeMountsFile = path.join(repoRoot, 'test', 'fixtures', 'seed-volume-mounts.json');
