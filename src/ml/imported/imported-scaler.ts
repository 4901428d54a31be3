import { canonicalJson } from '../scaler.js';

/**
 * The scaling of an imported model, as scikit-learn's MinMaxScaler and StandardScaler define it,
 * reduced to what both are: per column, scaled = x · multiply + add (MinMaxScaler: scale_, min_;
 * StandardScaler: 1 / scale_, −mean_ / scale_). `features` scales the network's input columns,
 * `target` (one column) maps its output back to a price.
 */
export const IMPORTED_SCALER_FORMAT = 'keras-import-scaler/1';

export type SklearnScalerType = 'MinMaxScaler' | 'StandardScaler';

export interface AffineColumns {
  readonly type: SklearnScalerType;
  readonly multiply: readonly number[];
  readonly add: readonly number[];
}

export interface ImportedScalerState {
  readonly format: typeof IMPORTED_SCALER_FORMAT;
  /** Bar columns fed to the network, in its input order (see bar-inputs.ts). */
  readonly inputs: readonly string[];
  readonly features: AffineColumns;
  readonly target: AffineColumns;
}

export function scaleColumn(columns: AffineColumns, index: number, value: number): number {
  return value * (columns.multiply[index] as number) + (columns.add[index] as number);
}

export function unscaleColumn(columns: AffineColumns, index: number, value: number): number {
  return (value - (columns.add[index] as number)) / (columns.multiply[index] as number);
}

/** Throws unless every column has a finite, non-zero multiplier and a finite offset. */
export function checkAffine(columns: AffineColumns, width: number, what: string): void {
  if (columns.multiply.length !== width || columns.add.length !== width) {
    throw new TypeError(`${what} scaler has ${columns.multiply.length} columns, ${width} expected`);
  }
  columns.multiply.forEach((m, i) => {
    if (!Number.isFinite(m) || m === 0 || !Number.isFinite(columns.add[i] as number)) {
      throw new TypeError(`${what} scaler column ${i} has an unusable scale (${m}) or offset (${String(columns.add[i])})`);
    }
  });
}

/** Canonical JSON (sorted keys), hashed into the model's metadata like a native scaler. */
export function serializeImportedScaler(state: ImportedScalerState): string {
  return canonicalJson(state);
}

export function parseImportedScaler(json: string): ImportedScalerState {
  const s = JSON.parse(json) as Partial<ImportedScalerState>;
  const affine = (v: unknown): v is AffineColumns => {
    const a = v as Partial<AffineColumns> | null;
    return typeof a === 'object' && a !== null && (a.type === 'MinMaxScaler' || a.type === 'StandardScaler') && Array.isArray(a.multiply) && Array.isArray(a.add);
  };
  if (s?.format !== IMPORTED_SCALER_FORMAT || !Array.isArray(s.inputs) || !affine(s.features) || !affine(s.target)) {
    throw new TypeError('not a valid imported scaler state');
  }
  checkAffine(s.features, s.inputs.length, 'feature');
  checkAffine(s.target, 1, 'target');
  return s as ImportedScalerState;
}
