/** One entry of model.json's `weightsManifest[].weights`. */
interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: unknown;
}

export type SavedWeights = { readonly weights: ReadonlyMap<string, Float32Array> } | { readonly unsupported: string };

const isEntry = (value: unknown): value is WeightEntry => {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry['name'] === 'string' && typeof entry['dtype'] === 'string' && Array.isArray(entry['shape']) && entry['shape'].every((d) => Number.isInteger(d) && (d as number) >= 0);
};

/**
 * The weights of a saved model by name, sliced from its weights data the way tfjs lays it out: every entry of
 * every manifest group, in order, back to back. Only plain float32 weights are read (the kind training saves);
 * any other dtype or a quantized weight is reported, and the model is then loaded by tfjs, which knows them all.
 */
export function readSavedWeights(weightsManifest: unknown, data: Uint8Array): SavedWeights {
  if (!Array.isArray(weightsManifest)) return { unsupported: 'no weights manifest' };
  const entries: unknown[] = weightsManifest.flatMap((group: unknown) => {
    const weights = typeof group === 'object' && group !== null ? (group as Record<string, unknown>)['weights'] : undefined;
    return Array.isArray(weights) ? weights : [undefined];
  });
  const weights = new Map<string, Float32Array>();
  let offset = 0;
  for (const entry of entries) {
    if (!isEntry(entry)) return { unsupported: `weights manifest entry ${JSON.stringify(entry)}` };
    if (entry.dtype !== 'float32' || entry.quantization !== undefined) return { unsupported: `weight ${entry.name}: ${entry.quantization === undefined ? entry.dtype : 'quantized'}` };
    const bytes = 4 * entry.shape.reduce((product, d) => product * d, 1);
    if (offset + bytes > data.byteLength) return { unsupported: `weights data ends before ${entry.name} (${data.byteLength} bytes)` };
    // A copy: the file's buffer may be shared or not 4-byte aligned.
    weights.set(entry.name, new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + bytes)));
    offset += bytes;
  }
  if (offset !== data.byteLength) return { unsupported: `weights data has ${data.byteLength} bytes, the manifest describes ${offset}` };
  return { weights };
}
