/**
 * Standardizing scaler: (x - mean) / std per feature column and per horizon step of the target,
 * fitted on the training split only. Its JSON is stored next to the model and hashed into the
 * model's metadata, so the two cannot be mixed up.
 */
export interface ScalerState {
  readonly version: 1;
  readonly feature_names: readonly string[];
  readonly feature_mean: readonly number[];
  readonly feature_std: readonly number[];
  /** Per horizon step, so a 60-day return does not drown out the 1-day one in the loss. */
  readonly target_mean: readonly number[];
  readonly target_std: readonly number[];
  /** Date range and row count of the training data the scaler saw. */
  readonly fit_from: string;
  readonly fit_to: string;
  readonly fit_rows: number;
}

export interface ScalerFitInput {
  readonly featureNames: readonly string[];
  readonly featureRows: readonly (readonly number[])[];
  readonly targetRows: readonly (readonly number[])[];
  readonly fitFrom: string;
  readonly fitTo: string;
}

/** Column means and population standard deviations; a constant column gets std 1 so it maps to 0. */
function columnStats(rows: readonly (readonly number[])[], width: number): { mean: number[]; std: number[] } {
  if (rows.length === 0) throw new RangeError('cannot fit a scaler on zero rows');
  const mean = new Array<number>(width).fill(0);
  for (const row of rows) for (let j = 0; j < width; j += 1) mean[j] = (mean[j] as number) + (row[j] as number) / rows.length;
  const variance = new Array<number>(width).fill(0);
  for (const row of rows) {
    for (let j = 0; j < width; j += 1) variance[j] = (variance[j] as number) + ((row[j] as number) - (mean[j] as number)) ** 2 / rows.length;
  }
  const std = variance.map((v) => (v > 1e-24 ? Math.sqrt(v) : 1));
  return { mean, std };
}

export function fitScaler(input: ScalerFitInput): ScalerState {
  const features = columnStats(input.featureRows, input.featureNames.length);
  const horizon = input.targetRows[0]?.length ?? 0;
  const targets = columnStats(input.targetRows, horizon);
  return {
    version: 1,
    feature_names: [...input.featureNames],
    feature_mean: features.mean,
    feature_std: features.std,
    target_mean: targets.mean,
    target_std: targets.std,
    fit_from: input.fitFrom,
    fit_to: input.fitTo,
    fit_rows: input.featureRows.length,
  };
}

export function scaleFeatures(scaler: ScalerState, row: readonly number[]): number[] {
  return row.map((v, j) => (v - (scaler.feature_mean[j] as number)) / (scaler.feature_std[j] as number));
}

export function scaleTargets(scaler: ScalerState, row: readonly number[]): number[] {
  return row.map((v, h) => (v - (scaler.target_mean[h] as number)) / (scaler.target_std[h] as number));
}

export function unscaleTargets(scaler: ScalerState, row: ArrayLike<number>): number[] {
  return Array.from(row, (v, h) => v * (scaler.target_std[h] as number) + (scaler.target_mean[h] as number));
}

/**
 * The honest-evaluation guard: a scaler that saw any day of the evaluated period leaks its
 * level and spread into the model's inputs. Throws when the scaler's data reaches `evaluatedFrom`.
 */
export function assertScalerFitBefore(scaler: ScalerState, evaluatedFrom: string): void {
  if (scaler.fit_to >= evaluatedFrom) {
    throw new RangeError(
      `scaler was fitted on data through ${scaler.fit_to}, which overlaps the evaluated period starting ${evaluatedFrom}`,
    );
  }
}

/** JSON with keys sorted at every level, so equal scalers hash equally. */
export function serializeScaler(scaler: ScalerState): string {
  return canonicalJson(scaler);
}

/** JSON with keys sorted at every level (scalers are hashed, so equal ones must serialize equally). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/** Parses and checks a stored scaler; throws on anything that is not a complete ScalerState. */
export function parseScaler(json: string): ScalerState {
  const raw: unknown = JSON.parse(json);
  const s = raw as Partial<ScalerState>;
  const numbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (
    s === null ||
    typeof s !== 'object' ||
    s.version !== 1 ||
    !Array.isArray(s.feature_names) ||
    !numbers(s.feature_mean) ||
    !numbers(s.feature_std) ||
    !numbers(s.target_mean) ||
    !numbers(s.target_std) ||
    s.feature_mean.length !== s.feature_names.length ||
    s.feature_std.length !== s.feature_names.length ||
    s.target_mean.length !== s.target_std.length ||
    typeof s.fit_from !== 'string' ||
    typeof s.fit_to !== 'string' ||
    typeof s.fit_rows !== 'number'
  ) {
    throw new TypeError('not a valid scaler state');
  }
  return s as ScalerState;
}
