import path from 'node:path';
import { packageRoot } from '../../src/config/package-root.js';

export const repoRoot = packageRoot;
/** `../shared/` beside the checkout: real market data and recorded Yahoo responses. */
export const sharedDir = path.resolve(repoRoot, '..', 'shared');
export const marketDataDir = path.join(sharedDir, 'data', 'market');
export const yahooFixturesDir = path.join(sharedDir, 'data', 'fixtures', 'yahoo');
