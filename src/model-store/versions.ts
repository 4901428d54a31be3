/**
 * Model version names: `v` + the UTC save time to the second (`v20261125T223000Z`), with `-2`, `-3`, ...
 * for further saves in the same second. They sort chronologically with `compareVersions`.
 */
export const VERSION_PATTERN = /^v(\d{8}T\d{6}Z)(?:-([1-9]\d{0,5}))?$/;

export function isVersion(name: string): boolean {
  return VERSION_PATTERN.test(name);
}

export function versionStamp(at: Date): string {
  return `v${at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}`;
}

function parts(version: string): [string, number] {
  const match = VERSION_PATTERN.exec(version);
  if (!match) throw new Error(`not a model version: ${version}`);
  return [match[1] ?? '', match[2] === undefined ? 1 : Number(match[2])];
}

export function compareVersions(a: string, b: string): number {
  const [stampA, seqA] = parts(a);
  const [stampB, seqB] = parts(b);
  return stampA < stampB ? -1 : stampA > stampB ? 1 : seqA - seqB;
}

/** The first name for a save at `at` that sorts after every existing version and is not taken. */
export function nextVersion(at: Date, existing: readonly string[]): string {
  const stamp = versionStamp(at);
  const newest = [...existing].sort(compareVersions).at(-1);
  if (newest === undefined || compareVersions(stamp, newest) > 0) return stamp;
  const [newestStamp, newestSeq] = parts(newest);
  // A clock that went backwards still yields a name that sorts last.
  return `v${newestStamp}-${newestSeq + 1}`;
}
