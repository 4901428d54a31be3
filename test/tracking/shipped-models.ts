import path from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import type { ModelsFixture } from '../server/fixtures.js';

/** The shipped models, used read-only (the app copies them into its own persistent_data). */
export const shippedModels: ModelsFixture = {
  root: '',
  modelsDir: path.join(repoRoot, 'models'),
  scalersDir: path.join(repoRoot, 'models', 'scalers'),
  cleanup: async () => undefined,
};
