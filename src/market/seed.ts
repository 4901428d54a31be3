import { mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DIR_MODE, isNotFound, writeFileAtomic } from '../fs/atomic-file.js';

export interface SeedHistoricalOptions {
  /** `persistent_data/stock_data/historical/`. */
  readonly historicalDir: string;
  /** The shipped samples, normally `path.join(packageRoot, 'data', 'sample')`. */
  readonly sampleDir: string;
}

export interface SeedResult {
  /** True when the folder had no CSV and the samples were copied in. */
  readonly seeded: boolean;
  /** File names copied (empty when nothing was done). */
  readonly files: string[];
}

/**
 * Fills an empty historical folder with the shipped sample CSVs. Does nothing when the folder
 * already holds any CSV, so operator data is never overwritten and a second call is a no-op.
 * Each file is written to a temporary name and renamed into place, so a crash mid-seed never
 * leaves a half-written CSV that the provider would later reject.
 */
export async function seedHistorical(options: SeedHistoricalOptions): Promise<SeedResult> {
  await mkdir(options.historicalDir, { recursive: true, mode: DIR_MODE });
  const present = (await readdir(options.historicalDir)).filter(isCsv);
  if (present.length > 0) return { seeded: false, files: [] };

  let samples: string[];
  try {
    samples = (await readdir(options.sampleDir)).filter(isCsv).sort();
  } catch (error) {
    if (isNotFound(error)) return { seeded: false, files: [] };
    throw error;
  }
  for (const name of samples) {
    await writeFileAtomic(path.join(options.historicalDir, name), await readFile(path.join(options.sampleDir, name)));
  }
  return { seeded: samples.length > 0, files: samples };
}

function isCsv(name: string): boolean {
  return name.endsWith('.csv');
}
