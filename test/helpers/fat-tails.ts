import type { createRng } from '../../src/ml/random.js';

type Rng = ReturnType<typeof createRng>;

export function standardGaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** A draw of the unit-variance Student-t with integer ν > 2 degrees of freedom (ν = 0: a standard Gaussian). */
export function unitVarianceT(rng: Rng, nu: number): number {
  const z = standardGaussian(rng);
  if (nu === 0) return z;
  let chiSquare = 0;
  for (let i = 0; i < nu; i += 1) chiSquare += standardGaussian(rng) ** 2;
  return (z / Math.sqrt(chiSquare / nu)) * Math.sqrt((nu - 2) / nu);
}
