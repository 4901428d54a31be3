import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelStore } from '../model-store/store.js';
import type { ModelMetadata } from '../ml/types.js';

/**
 * Current version per model key of a copied ml_models/ folder (with its scalers/ beside it),
 * after checking the copy is usable: the current version of every model must verify (all
 * files, scaler included). An older version that fails was being pruned while it was copied
 * and is dropped from the copy. Throws when a current version is incomplete, i.e. a version
 * switch raced the copy, so the caller copies again.
 */
export async function verifiedStagedVersions(mlModelsDir: string): Promise<Record<string, string | null>> {
  const store = new ModelStore({ modelsDir: mlModelsDir, scalersDir: path.join(path.dirname(mlModelsDir), 'scalers') });
  const result: Record<string, string | null> = {};
  for (const key of await store.keys()) {
    const current = await store.currentVersion(key);
    for (const summary of await store.versions(key)) {
      try {
        await store.verify(key, summary.version);
      } catch (error) {
        if (summary.version === current) throw error;
        await fs.rm(store.versionDir(key, summary.version), { recursive: true, force: true });
      }
    }
    result[key] = current;
  }
  return result;
}

export interface ModelState {
  readonly key: string;
  readonly version: string | null;
  readonly metadata?: ModelMetadata;
  readonly error?: string;
}

/** The current version and metadata of every model in a store; a broken one is reported, not thrown. */
export async function currentModels(store: ModelStore): Promise<ModelState[]> {
  const states: ModelState[] = [];
  for (const key of await store.keys()) {
    try {
      const version = await store.currentVersion(key);
      states.push(version === null ? { key, version } : { key, version, metadata: await store.readMetadata(key, version) });
    } catch (error) {
      states.push({ key, version: null, error: (error as Error).message });
    }
  }
  return states;
}
