import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SYMBOL_PATTERN } from '../market/bar.js';
import { isNotFound } from '../fs/atomic-file.js';

/**
 * `persistent_data/config/ml_config.json`: the operator-editable policy of the ops commands
 * (which symbols to keep trained, when a model is stale, how many backups to keep, how long
 * caches and logs live). Flags override it; missing fields take these defaults.
 */
const schema = z.object({
  symbols: z.array(z.string().regex(SYMBOL_PATTERN)).default([]),
  retraining: z.object({
    max_age_days: z.number().positive().default(30),
    min_new_bars: z.number().int().positive().default(5),
    /** Skill trigger: retrain when the live MAE ratio to naive exceeds this over at least min_live_matured forecasts. */
    max_live_mae_ratio: z.number().positive().default(1.1),
    min_live_matured: z.number().int().positive().default(50),
  }).prefault({}),
  backup: z.object({
    keep: z.number().int().positive().default(10),
    log_days: z.number().int().nonnegative().default(7),
  }).prefault({}),
  retention: z.object({
    ml_cache_days: z.number().nonnegative().default(7),
    stock_cache_days: z.number().nonnegative().default(7),
    predictions_days: z.number().nonnegative().default(90),
    logs_days: z.number().nonnegative().default(30),
    backups_keep: z.number().int().positive().default(10),
    safety_copies_keep: z.number().int().nonnegative().default(3),
  }).prefault({}),
});

export type OpsConfig = z.infer<typeof schema>;

export const ML_CONFIG_FILE = 'ml_config.json';

export function defaultOpsConfig(): OpsConfig {
  return schema.parse({});
}

/** Reads the policy from `configDir`; absent file → defaults; a malformed one is an error naming the field. */
export async function readOpsConfig(configDir: string): Promise<OpsConfig> {
  const file = path.join(configDir, ML_CONFIG_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return defaultOpsConfig();
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
