import type * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CorruptModelError, NotFoundError, ValidationError } from '../errors.js';
import { parseImportedScaler } from '../ml/imported/imported-scaler.js';
import { tfjsReady } from '../ml/backend.js';
import { decodeTestPaths, encodeTestPaths, type TestPath } from '../ml/evaluation/test-paths.js';
import { createForecasterOn } from '../ml/predictor.js';
import { savedModelEngine, type InferencePreference, type SavedModel } from '../ml/inference/engine.js';
import { parseScaler, serializeScaler } from '../ml/scaler.js';
import type { TrainedModel } from '../ml/training/train.js';
import type { Forecaster, ModelMetadata, TestForecastPoint, TestForecasts } from '../ml/types.js';
import { loadVolatilityHead, type SavedVolatilityHead, type VolatilityHead } from '../ml/volatility-head/head.js';
import { DIR_MODE, isNotFound, isProcessAlive, TEMP_MARKER, tempNameFor, tempOwnerPid, writeFileAtomic } from '../fs/atomic-file.js';
import { fileSystemIO, MODEL_JSON, WEIGHTS_BIN } from './file-io.js';
import { checkDigest, digest, MANIFEST_FORMAT, MANIFEST_JSON, readManifest, sha256, writeManifest, type Manifest } from './manifest.js';
import { compareVersions, isVersion, nextVersion } from './versions.js';

export const METADATA_JSON = 'metadata.json';
/** Optional: the test-split forecasts behind the evaluation (versions saved before it existed have none). */
export const TEST_FORECASTS_JSON = 'test_forecasts.json';
/** Optional: every step of the same forecasts (test-paths.ts), gzipped; versions saved before it existed have none. */
export const TEST_PATHS_FILE = 'test_paths.json.gz';
/** Optional: the LSTM volatility head (topology + weights manifest, and its float32 weights); versions trained before it, and imported ones, have none. */
export const VOLATILITY_HEAD_JSON = 'volatility_head.json';
export const VOLATILITY_HEAD_BIN = 'volatility_head.bin';
export const CURRENT_FILE = 'CURRENT';
const MODEL_DIR_SUFFIX = '_lstm_model';
/** A lower-case symbol, or an escaped one (symbolModelKey: the ticker GLOBAL's own model is `_global`). */
const KEY_PATTERN = /^_?[a-z][a-z0-9.-]{0,9}$/;
const SCALER_FILE_PATTERN = /^(.+)_scaler_(v[0-9TZ-]+)\.json$/;
/** A version folder without a manifest older than this is a crashed save, not one in progress. */
const ABANDONED_AFTER_MS = 10 * 60 * 1000;

export interface ModelStoreOptions {
  /** persistent_data/ml_models (or the shipped models/ folder). */
  readonly modelsDir: string;
  /** persistent_data/scalers. */
  readonly scalersDir: string;
  /** Versions kept per model for rollback (the current one is always kept as well). */
  readonly keepVersions?: number;
  readonly now?: () => Date;
}

/** What a model version is made of, before the store assigns it a version. */
export interface ModelArtifactsToSave {
  readonly model: tf.LayersModel;
  /** The scaler as serialized JSON; its sha256 becomes `scaler_sha256`. */
  readonly scalerJson: string;
  readonly metadata: Omit<ModelMetadata, 'version' | 'scaler_sha256'>;
  readonly testForecasts?: TestForecasts;
  readonly testPaths?: Readonly<Record<string, readonly TestPath[]>>;
  readonly volatilityHead?: SavedVolatilityHead;
}

export interface LoadedModel {
  readonly model: tf.LayersModel;
  readonly scalerJson: string;
  readonly metadata: ModelMetadata;
  /** The version's LSTM volatility head, as saved (versions trained before it have none). */
  readonly volatilityHead?: SavedVolatilityHead;
}

export interface VersionSummary {
  readonly version: string;
  readonly current: boolean;
  /** False when the folder has no manifest: a save that never finished. */
  readonly complete: boolean;
  readonly trained_at?: string;
  readonly backend?: string;
  readonly data_to?: string;
  readonly mae?: number;
  readonly naive_mae?: number;
  readonly mae_ratio?: number;
  readonly hit_rate?: number;
  readonly beats_naive?: boolean;
  /** For a version imported from a Keras file: that file's sha256 (`origin.model_sha256`). */
  readonly imported_sha256?: string;
  /** Why the metadata could not be read, when it could not. */
  readonly error?: string;
}

export interface CleanReport {
  readonly removedVersions: { key: string; version: string }[];
  readonly removedFiles: string[];
}

export interface SeedReport {
  readonly seeded: { key: string; version: string }[];
  /** Shipped versions that failed verification and were not copied. */
  readonly refused: { key: string; version: string; error: string }[];
}

/** Model key of a symbol: its lower-case form (the global model's key is already lower-case). */
export function modelKey(symbolOrKey: string): string {
  const key = symbolOrKey.trim().toLowerCase();
  if (!KEY_PATTERN.test(key)) throw new ValidationError(`invalid model key or symbol: ${JSON.stringify(symbolOrKey)}`, undefined, 'INVALID_SYMBOL');
  return key;
}

/**
 * Versioned models on the file system:
 * `<modelsDir>/<key>_lstm_model/<version>/{model.json,weights.bin,metadata.json,test_forecasts.json,test_paths.json.gz,manifest.json}`
 * (the test forecasts are optional: older versions have none),
 * `<modelsDir>/<key>_lstm_model/CURRENT` (the current version's name) and
 * `<scalersDir>/<key>_scaler_<version>.json`. Every file is written to a temporary name and renamed;
 * a version folder appears under its final name only once complete, and the manifest (checksums of
 * every file, scaler included) is its last file. Loading verifies all of it.
 */
export class ModelStore {
  readonly modelsDir: string;
  readonly scalersDir: string;
  readonly keepVersions: number;
  private readonly now: () => Date;

  constructor(options: ModelStoreOptions) {
    this.modelsDir = path.resolve(options.modelsDir);
    this.scalersDir = path.resolve(options.scalersDir);
    this.keepVersions = options.keepVersions ?? 5;
    if (!Number.isInteger(this.keepVersions) || this.keepVersions < 1) {
      throw new ValidationError(`keepVersions must be a positive integer, got ${String(options.keepVersions)}`);
    }
    this.now = options.now ?? (() => new Date());
  }

  modelDir(key: string): string {
    return path.join(this.modelsDir, `${modelKey(key)}${MODEL_DIR_SUFFIX}`);
  }

  versionDir(key: string, version: string): string {
    if (!isVersion(version)) throw new ValidationError(`invalid model version: ${JSON.stringify(version)}`);
    return path.join(this.modelDir(key), version);
  }

  scalerFile(key: string, version: string): string {
    return path.join(this.scalersDir, `${modelKey(key)}_scaler_${version}.json`);
  }

  /** Keys of every model that has at least one version, sorted. */
  async keys(): Promise<string[]> {
    const entries = await readDirOrEmpty(this.modelsDir);
    const keys: string[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || !entry.name.endsWith(MODEL_DIR_SUFFIX)) continue;
      const key = entry.name.slice(0, -MODEL_DIR_SUFFIX.length);
      if (KEY_PATTERN.test(key) && (await this.versionNames(key)).length > 0) keys.push(key);
    }
    return keys.sort();
  }

  /**
   * The version CURRENT points to. Without a CURRENT file (a first save interrupted before the
   * switch) it is the newest complete version; null when there is none.
   */
  async currentVersion(key: string): Promise<string | null> {
    const file = path.join(this.modelDir(key), CURRENT_FILE);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const complete = await this.completeVersions(key);
      return complete.at(-1) ?? null;
    }
    const version = text.trim();
    if (!isVersion(version)) throw new CorruptModelError(`${file} does not name a model version: ${JSON.stringify(version)}`, { file });
    return version;
  }

  /** Every version folder of a model, newest first, with a summary of its metadata. */
  async versions(key: string): Promise<VersionSummary[]> {
    const current = await this.currentVersion(key);
    const names = (await this.versionNames(key)).reverse();
    return Promise.all(names.map((version) => this.summarize(key, version, version === current)));
  }

  /** The metadata of a version (default: current), checked against its manifest. */
  async readMetadata(key: string, version?: string): Promise<ModelMetadata> {
    const resolved = await this.resolveVersion(key, version);
    const dir = this.versionDir(key, resolved);
    const manifest = await this.readCheckedManifest(key, resolved);
    return this.readCheckedMetadata(dir, resolved, manifest);
  }

  /**
   * The test-split next-day forecasts of a version (default: current) for one symbol, checked
   * against the manifest; [] when the version was saved without them or has none for the symbol.
   */
  async readTestForecasts(key: string, symbol: string, version?: string): Promise<TestForecastPoint[]> {
    const bytes = await this.readOptionalFile(key, TEST_FORECASTS_JSON, version);
    if (bytes === undefined) return [];
    const forecasts = JSON.parse(bytes.toString('utf8')) as TestForecasts;
    return [...(forecasts[symbol.toUpperCase()] ?? [])];
  }

  /**
   * Every step of a version's (default: current) test-split forecasts for one symbol (test-paths.ts),
   * checked against the manifest; [] when the version was saved without them or has none for the symbol.
   */
  async readTestPaths(key: string, symbol: string, version?: string): Promise<TestPath[]> {
    const bytes = await this.readOptionalFile(key, TEST_PATHS_FILE, version);
    return bytes === undefined ? [] : [...(decodeTestPaths(bytes).symbols[symbol.toUpperCase()] ?? [])];
  }

  /** An optional file of a version (default: current), checked against the manifest; undefined when the version was saved without it. */
  private async readOptionalFile(key: string, name: string, version?: string): Promise<Buffer | undefined> {
    const resolved = await this.resolveVersion(key, version);
    const manifest = await this.readCheckedManifest(key, resolved);
    if (manifest.files[name] === undefined) return undefined;
    const file = path.join(this.versionDir(key, resolved), name);
    const bytes = await readRequired(file);
    checkDigest(file, bytes, manifest.files[name]);
    return bytes;
  }

  /** Checks every file of a version against its manifest, and the scaler binding. Throws CorruptModelError naming the file. */
  async verify(key: string, version: string): Promise<ModelMetadata> {
    const dir = this.versionDir(key, version);
    const manifest = await this.readCheckedManifest(key, version);
    const metadata = await this.readCheckedMetadata(dir, version, manifest);
    await this.readCheckedScaler(key, version, manifest, metadata);
    for (const name of [MODEL_JSON, WEIGHTS_BIN, ...optionalFiles(manifest)]) {
      checkDigest(path.join(dir, name), await readRequired(path.join(dir, name)), manifest.files[name]);
    }
    return metadata;
  }

  /**
   * Saves a new version, verifies what landed on disk, makes it current and prunes versions
   * beyond `keepVersions`. Returns the new version's name.
   */
  async saveModel(artifacts: ModelArtifactsToSave): Promise<string> {
    const key = modelKey(artifacts.metadata.key);
    const modelDir = this.modelDir(key);
    await fs.mkdir(modelDir, { recursive: true, mode: DIR_MODE });
    await fs.mkdir(this.scalersDir, { recursive: true, mode: DIR_MODE });
    const version = await this.claimVersion(key);
    const versionDir = this.versionDir(key, version);
    const staging = tempNameFor(versionDir);
    const scalerFile = this.scalerFile(key, version);
    try {
      await fs.mkdir(staging, { mode: DIR_MODE });
      const scalerBytes = Buffer.from(artifacts.scalerJson, 'utf8');
      await writeFileAtomic(scalerFile, scalerBytes);
      await artifacts.model.save(fileSystemIO(staging));
      const metadata: ModelMetadata = { ...artifacts.metadata, key, version, scaler_sha256: sha256(scalerBytes) };
      await writeFileAtomic(path.join(staging, METADATA_JSON), `${JSON.stringify(metadata, null, 2)}\n`);
      const names = [MODEL_JSON, WEIGHTS_BIN, METADATA_JSON];
      if (artifacts.testForecasts !== undefined) {
        await writeFileAtomic(path.join(staging, TEST_FORECASTS_JSON), `${JSON.stringify(artifacts.testForecasts)}\n`);
        names.push(TEST_FORECASTS_JSON);
      }
      if (artifacts.testPaths !== undefined) {
        await writeFileAtomic(path.join(staging, TEST_PATHS_FILE), encodeTestPaths(artifacts.testPaths));
        names.push(TEST_PATHS_FILE);
      }
      if (artifacts.volatilityHead !== undefined) {
        await writeFileAtomic(path.join(staging, VOLATILITY_HEAD_JSON), `${JSON.stringify(artifacts.volatilityHead.modelJson)}\n`);
        await writeFileAtomic(path.join(staging, VOLATILITY_HEAD_BIN), artifacts.volatilityHead.weightData);
        names.push(VOLATILITY_HEAD_JSON, VOLATILITY_HEAD_BIN);
      }
      const files: Record<string, ReturnType<typeof digest>> = {};
      for (const name of names) files[name] = digest(await fs.readFile(path.join(staging, name)));
      const manifest: Manifest = {
        format: MANIFEST_FORMAT,
        key,
        version,
        created_at: this.now().toISOString(),
        files,
        scaler: { file: path.basename(scalerFile), ...digest(scalerBytes) },
      };
      await writeManifest(staging, manifest);
      // Replaces the empty folder that claimed the name: the version appears complete or not at all.
      await fs.rename(staging, versionDir);
      await this.verify(key, version);
    } catch (error) {
      await fs.rm(staging, { recursive: true, force: true });
      await fs.rm(versionDir, { recursive: true, force: true });
      await fs.rm(scalerFile, { force: true });
      throw error;
    }
    await this.setCurrent(key, version);
    await this.prune(key);
    return version;
  }

  /** Saves what trainModel returned as a new current version (see saveModel). */
  async save(trained: TrainedModel): Promise<string> {
    return this.saveModel({
      model: trained.model,
      scalerJson: serializeScaler(trained.scaler),
      metadata: trained.metadata,
      ...(trained.testForecasts !== undefined ? { testForecasts: trained.testForecasts } : {}),
      ...(trained.testPaths !== undefined ? { testPaths: trained.testPaths } : {}),
      ...(trained.volatilityHead !== undefined ? { volatilityHead: trained.volatilityHead.saved } : {}),
    });
  }

  /**
   * A verified version (default: current) ready to forecast, on the fused forward pass unless `inference` is
   * 'tfjs' or the architecture needs tfjs (an imported network always runs on tfjs). A fused model is built
   * straight from model.json + weights.bin; a tfjs model is constructed only for the tfjs path. The caller owns
   * the forecaster and must dispose it.
   */
  async loadForecaster(key: string, version?: string, inference: InferencePreference = 'auto'): Promise<Forecaster> {
    const resolved = await this.resolveVersion(key, version);
    const dir = this.versionDir(key, resolved);
    const manifest = await this.readCheckedManifest(key, resolved);
    const metadata = await this.readCheckedMetadata(dir, resolved, manifest);
    const scalerJson = await this.readCheckedScaler(key, resolved, manifest, metadata);
    // Builds the forecaster on what was loaded; a scaler that does not fit frees it and names the scaler file.
    const forecasterOn = (loaded: { dispose(): void }, build: () => Forecaster): Forecaster => {
      try {
        return build();
      } catch (error) {
        loaded.dispose();
        const file = this.scalerFile(key, metadata.version);
        throw new CorruptModelError(`${file} is not a usable scaler for ${key} ${metadata.version}: ${(error as Error).message}`, { file });
      }
    };
    if (metadata.origin !== undefined) {
      // An imported network has its own scaler format and output (next close) but the same Forecaster.
      const model = await this.readLayersModel(dir, manifest);
      // Imported lazily with tfjs, which it runs on: a service with only fused models never loads either.
      const { createImportedForecaster } = await import('../ml/imported/imported-forecaster.js');
      return forecasterOn(model, () => createImportedForecaster(model, parseImportedScaler(scalerJson), metadata));
    }
    const modelBytes = await readRequired(path.join(dir, MODEL_JSON));
    checkDigest(path.join(dir, MODEL_JSON), modelBytes, manifest.files[MODEL_JSON]);
    const weightData = await readRequired(path.join(dir, WEIGHTS_BIN));
    checkDigest(path.join(dir, WEIGHTS_BIN), weightData, manifest.files[WEIGHTS_BIN]);
    let modelJson: SavedModel['modelJson'];
    try {
      modelJson = JSON.parse(modelBytes.toString('utf8')) as SavedModel['modelJson'];
    } catch (error) {
      const file = path.join(dir, MODEL_JSON);
      throw new CorruptModelError(`${file} could not be loaded as a layers model: ${(error as Error).message}`, { file });
    }
    const head = await this.readVolatilityHead(dir, manifest);
    if (head === undefined && metadata.calibration.volatility.kind === 'lstm_head') {
      const file = path.join(dir, VOLATILITY_HEAD_JSON);
      throw new CorruptModelError(`${file} is missing: ${key} ${resolved} serves the LSTM volatility head`, { file });
    }
    const engine = await savedModelEngine({ modelJson, weightData }, inference, () => this.readLayersModel(dir, manifest));
    return forecasterOn(engine, () => createForecasterOn(engine, parseScaler(scalerJson), metadata, head));
  }

  /** Loads a version (default: current) as a tfjs model after verifying every checksum and the scaler binding. */
  async loadModel(key: string, version?: string): Promise<LoadedModel> {
    const resolved = await this.resolveVersion(key, version);
    const dir = this.versionDir(key, resolved);
    const manifest = await this.readCheckedManifest(key, resolved);
    const metadata = await this.readCheckedMetadata(dir, resolved, manifest);
    const scalerJson = await this.readCheckedScaler(key, resolved, manifest, metadata);
    // The head first: a corrupt head file then fails the load before a tfjs model exists to be disposed.
    const volatilityHead = await this.readSavedVolatilityHead(dir, manifest);
    return { model: await this.readLayersModel(dir, manifest), scalerJson, metadata, volatilityHead };
  }

  /** Makes `version` current after verifying it completely; a corrupt version is refused and CURRENT is unchanged. */
  async promote(key: string, version: string): Promise<void> {
    await this.requireVersion(key, version);
    await this.verify(key, version);
    await this.setCurrent(key, version);
  }

  /** Makes the newest valid version older than the current one current. */
  async rollback(key: string): Promise<{ from: string; to: string }> {
    const from = await this.resolveVersion(key);
    const older = (await this.completeVersions(key)).filter((v) => compareVersions(v, from) < 0).reverse();
    const refused: string[] = [];
    for (const candidate of older) {
      try {
        await this.verify(key, candidate);
      } catch (error) {
        if (!(error instanceof CorruptModelError)) throw error;
        refused.push(`${candidate} (${error.message})`);
        continue;
      }
      await this.setCurrent(key, candidate);
      return { from, to: candidate };
    }
    const why = refused.length > 0 ? `; refused: ${refused.join('; ')}` : '';
    throw new NotFoundError(`model ${key} has no valid version older than ${from} to roll back to${why}`, undefined, 'MODEL_NOT_FOUND');
  }

  /** Prunes every model to `keepVersions` and removes leftovers of interrupted writes. */
  async clean(): Promise<CleanReport> {
    const removedVersions: { key: string; version: string }[] = [];
    const removedFiles: string[] = [];
    for (const entry of await readDirOrEmpty(this.modelsDir)) {
      if (!entry.isDirectory() || !entry.name.endsWith(MODEL_DIR_SUFFIX)) continue;
      const key = entry.name.slice(0, -MODEL_DIR_SUFFIX.length);
      if (!KEY_PATTERN.test(key)) continue;
      removedFiles.push(...(await removeStaleTemps(this.modelDir(key))));
      for (const version of await this.versionNames(key)) {
        const dir = this.versionDir(key, version);
        removedFiles.push(...(await removeStaleTemps(dir)));
        if (!(await exists(path.join(dir, MANIFEST_JSON))) && (await ageMs(dir)) > ABANDONED_AFTER_MS) {
          await fs.rm(dir, { recursive: true, force: true });
          removedFiles.push(dir);
        }
      }
      removedVersions.push(...(await this.prune(key)).map((version) => ({ key, version })));
    }
    removedFiles.push(...(await removeStaleTemps(this.scalersDir)));
    for (const entry of await readDirOrEmpty(this.scalersDir)) {
      const match = SCALER_FILE_PATTERN.exec(entry.name);
      if (!entry.isFile() || !match || !KEY_PATTERN.test(match[1] ?? '') || !isVersion(match[2] ?? '')) continue;
      const file = path.join(this.scalersDir, entry.name);
      if (!(await exists(this.versionDir(match[1] ?? '', match[2] ?? ''))) && (await ageMs(file)) > ABANDONED_AFTER_MS) {
        await fs.rm(file, { force: true });
        removedFiles.push(file);
      }
    }
    return { removedVersions, removedFiles };
  }

  /**
   * Copies the shipped models (a folder in this store's own layout, scalers in `<shippedDir>/scalers`)
   * into this store, only when it holds no model yet. Each shipped version is verified first.
   */
  async seedFrom(shippedDir: string): Promise<SeedReport> {
    const seeded: { key: string; version: string }[] = [];
    const refused: { key: string; version: string; error: string }[] = [];
    if ((await this.keys()).length > 0) return { seeded, refused };
    const shipped = new ModelStore({ modelsDir: shippedDir, scalersDir: path.join(shippedDir, 'scalers') });
    for (const key of await shipped.keys()) {
      const copied: string[] = [];
      for (const version of await shipped.completeVersions(key)) {
        try {
          await shipped.verify(key, version);
        } catch (error) {
          if (!(error instanceof CorruptModelError)) throw error;
          refused.push({ key, version, error: error.message });
          continue;
        }
        await this.importVersion(shipped, key, version);
        copied.push(version);
        seeded.push({ key, version });
      }
      const shippedCurrent = await shipped.currentVersion(key);
      const current = shippedCurrent !== null && copied.includes(shippedCurrent) ? shippedCurrent : copied.at(-1);
      if (current !== undefined) await this.setCurrent(key, current);
    }
    return { seeded, refused };
  }

  /**
   * Copies one complete version (its files and its scaler) from another store into this one,
   * under the same name, and verifies the copy. Used to seed from and to export to the shipped models.
   */
  async importVersion(source: ModelStore, key: string, version: string): Promise<void> {
    const target = this.versionDir(key, version);
    await fs.mkdir(this.modelDir(key), { recursive: true, mode: DIR_MODE });
    await fs.mkdir(this.scalersDir, { recursive: true, mode: DIR_MODE });
    const staging = tempNameFor(target);
    await fs.mkdir(staging, { mode: DIR_MODE });
    try {
      const from = source.versionDir(key, version);
      const manifest = await source.readCheckedManifest(key, version);
      for (const name of [MODEL_JSON, WEIGHTS_BIN, METADATA_JSON, ...optionalFiles(manifest), MANIFEST_JSON]) {
        await writeFileAtomic(path.join(staging, name), await fs.readFile(path.join(from, name)));
      }
      await writeFileAtomic(this.scalerFile(key, version), await fs.readFile(source.scalerFile(key, version)));
      await fs.rename(staging, target);
    } catch (error) {
      await fs.rm(staging, { recursive: true, force: true });
      throw error;
    }
    await this.verify(key, version);
  }

  private async setCurrent(key: string, version: string): Promise<void> {
    await writeFileAtomic(path.join(this.modelDir(key), CURRENT_FILE), `${version}\n`);
  }

  /** Removes complete versions beyond the newest `keepVersions`, never the current one. Returns what it removed. */
  private async prune(key: string): Promise<string[]> {
    const current = await this.currentVersion(key);
    const complete = (await this.completeVersions(key)).reverse();
    const doomed = complete.slice(this.keepVersions).filter((version) => version !== current);
    for (const version of doomed) {
      // The manifest goes first, so a concurrent reader sees an incomplete version rather than a mixed one.
      await fs.rm(path.join(this.versionDir(key, version), MANIFEST_JSON), { force: true });
      await fs.rm(this.versionDir(key, version), { recursive: true, force: true });
      await fs.rm(this.scalerFile(key, version), { force: true });
    }
    return doomed;
  }

  /** Reserves a new version name by creating its (empty) folder; mkdir fails if another writer took it. */
  private async claimVersion(key: string): Promise<string> {
    for (;;) {
      const version = nextVersion(this.now(), await this.versionNames(key));
      try {
        await fs.mkdir(this.versionDir(key, version), { mode: DIR_MODE });
        return version;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }

  private async resolveVersion(key: string, version?: string): Promise<string> {
    if (version !== undefined) {
      await this.requireVersion(key, version);
      return version;
    }
    const current = await this.currentVersion(key);
    if (current === null) throw new NotFoundError(`no model for ${key}`, undefined, 'MODEL_NOT_FOUND');
    return current;
  }

  private async requireVersion(key: string, version: string): Promise<void> {
    if (!(await exists(this.versionDir(key, version)))) throw new NotFoundError(`model ${key} has no version ${version}`, undefined, 'MODEL_NOT_FOUND');
  }

  /** Version folder names, oldest first (incomplete ones included, temporaries excluded). */
  private async versionNames(key: string): Promise<string[]> {
    const entries = await readDirOrEmpty(this.modelDir(key));
    return entries.filter((e) => e.isDirectory() && isVersion(e.name)).map((e) => e.name).sort(compareVersions);
  }

  private async completeVersions(key: string): Promise<string[]> {
    const names = await this.versionNames(key);
    const complete = await Promise.all(names.map((v) => exists(path.join(this.versionDir(key, v), MANIFEST_JSON))));
    return names.filter((_, i) => complete[i]);
  }

  /** The saved LSTM volatility head of a version folder, its files checked against the manifest (undefined: the version has none). */
  private async readSavedVolatilityHead(dir: string, manifest: Manifest): Promise<SavedVolatilityHead | undefined> {
    if (manifest.files[VOLATILITY_HEAD_JSON] === undefined) return undefined;
    const [jsonFile, binFile] = [path.join(dir, VOLATILITY_HEAD_JSON), path.join(dir, VOLATILITY_HEAD_BIN)];
    const json = await readRequired(jsonFile);
    checkDigest(jsonFile, json, manifest.files[VOLATILITY_HEAD_JSON]);
    const weightData = await readRequired(binFile);
    checkDigest(binFile, weightData, manifest.files[VOLATILITY_HEAD_BIN]);
    return unusableHeadIsCorrupt(jsonFile, () => ({ modelJson: JSON.parse(json.toString('utf8')) as SavedVolatilityHead['modelJson'], weightData }));
  }

  /** The version's LSTM volatility head on the fused pass, its files checked against the manifest; undefined when it has none. */
  private async readVolatilityHead(dir: string, manifest: Manifest): Promise<VolatilityHead | undefined> {
    const saved = await this.readSavedVolatilityHead(dir, manifest);
    return saved === undefined ? undefined : unusableHeadIsCorrupt(path.join(dir, VOLATILITY_HEAD_JSON), () => loadVolatilityHead(saved));
  }

  /** The tfjs model of a version folder, its files checked against the manifest. */
  private async readLayersModel(dir: string, manifest: Manifest): Promise<tf.LayersModel> {
    const handler = fileSystemIO(dir, (name, bytes) => checkDigest(path.join(dir, name), bytes, manifest.files[name]));
    // tfjs is imported (and its backend selected) only when a model needs it, not at the start of a service.
    const tf = await tfjsReady();
    // Registers the GRU layer imported Keras models may use, so tf.loadLayersModel can rebuild them.
    await import('../ml/imported/keras-gru.js');
    try {
      return await tf.loadLayersModel(handler);
    } catch (error) {
      if (error instanceof CorruptModelError) throw error;
      const file = path.join(dir, MODEL_JSON);
      throw new CorruptModelError(`${file} could not be loaded as a layers model: ${(error as Error).message}`, { file });
    }
  }

  private async readCheckedManifest(key: string, version: string): Promise<Manifest> {
    const dir = this.versionDir(key, version);
    const manifest = await readManifest(dir);
    if (manifest.key !== modelKey(key) || manifest.version !== version) {
      const file = path.join(dir, MANIFEST_JSON);
      throw new CorruptModelError(`${file} belongs to ${manifest.key}/${manifest.version}, not ${key}/${version}`, { file });
    }
    return manifest;
  }

  private async readCheckedMetadata(dir: string, version: string, manifest: Manifest): Promise<ModelMetadata> {
    const file = path.join(dir, METADATA_JSON);
    const bytes = await readRequired(file);
    checkDigest(file, bytes, manifest.files[METADATA_JSON]);
    const metadata = JSON.parse(bytes.toString('utf8')) as ModelMetadata;
    if (metadata.version !== version) throw new CorruptModelError(`${file} is for version ${metadata.version}, not ${version}`, { file });
    return metadata;
  }

  private async readCheckedScaler(key: string, version: string, manifest: Manifest, metadata: ModelMetadata): Promise<string> {
    const file = this.scalerFile(key, version);
    const bytes = await readRequired(file);
    if (sha256(bytes) !== metadata.scaler_sha256) {
      throw new CorruptModelError(`${file} does not match scaler_sha256 of model ${key} ${version}: the scaler does not belong to this model`, { file });
    }
    checkDigest(file, bytes, manifest.scaler);
    return bytes.toString('utf8');
  }

  private async summarize(key: string, version: string, current: boolean): Promise<VersionSummary> {
    const dir = this.versionDir(key, version);
    const complete = await exists(path.join(dir, MANIFEST_JSON));
    try {
      const m = JSON.parse(await fs.readFile(path.join(dir, METADATA_JSON), 'utf8')) as ModelMetadata;
      return {
        version, current, complete,
        trained_at: m.trained_at, backend: m.backend, data_to: m.data.to,
        mae: m.evaluation.mae, naive_mae: m.evaluation.naive_mae, mae_ratio: m.evaluation.mae_ratio,
        hit_rate: m.evaluation.hit_rate, beats_naive: m.beats_naive,
        ...(m.origin === undefined ? {} : { imported_sha256: m.origin.model_sha256 }),
      };
    } catch (error) {
      return { version, current, complete, error: (error as Error).message };
    }
  }
}

/** A head file that passed its checksum yet cannot be used (bad JSON, wrong shapes) is a corrupt version, named by its file. */
function unusableHeadIsCorrupt<T>(file: string, use: () => T): T {
  try {
    return use();
  } catch (error) {
    throw new CorruptModelError(`${file} is not a usable volatility head: ${(error as Error).message}`, { file });
  }
}

/** The optional files a version's manifest lists (they must then be present and intact). */
function optionalFiles(manifest: Manifest): string[] {
  return [TEST_FORECASTS_JSON, TEST_PATHS_FILE, VOLATILITY_HEAD_JSON, VOLATILITY_HEAD_BIN].filter((name) => manifest.files[name] !== undefined);
}

async function readRequired(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    if (isNotFound(error)) throw new CorruptModelError(`${file} is missing`, { file });
    throw error;
  }
}

async function readDirOrEmpty(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch {
    return false;
  }
}

async function ageMs(file: string): Promise<number> {
  return Date.now() - (await fs.stat(file)).mtimeMs;
}

/** Removes temporaries in `dir` left by processes that no longer run. */
async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readDirOrEmpty(dir)) {
    if (!entry.name.includes(TEMP_MARKER)) continue;
    const pid = tempOwnerPid(entry.name);
    if (pid !== undefined && isProcessAlive(pid)) continue;
    const file = path.join(dir, entry.name);
    await fs.rm(file, { recursive: true, force: true });
    removed.push(file);
  }
  return removed;
}
