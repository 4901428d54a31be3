/**
 * Fat-tailed band multiples: the Student-t distribution scaled to unit variance, with its degrees of
 * freedom fitted by maximum likelihood on residuals normalised by a volatility forecast (the GARCH-t
 * practice, Bollerslev 1987). Daily returns divided by a good volatility forecast still have fatter
 * tails than a Gaussian, so ±1.2816 sd covers more than 80 % of them; a t with ν near 5 puts its 80 %
 * quantile near ±1.14 sd and its 95 % one near ±1.99 sd. Sums of h daily innovations are less
 * fat-tailed: for independent ones the excess kurtosis falls as 1/h, which a t matches with
 * ν_h = 4 + h·(ν_1 − 4) (excess kurtosis 6 / (ν − 4)), so long-horizon multiples tend to the Gaussian's.
 * Pure functions; no library of the field offers these in a form smaller than the code below.
 */

/** Degrees of freedom the fit searches: above 4 the kurtosis is finite, which the horizon aggregation needs; 200 is Gaussian for every purpose here. */
export const MIN_DEGREES_OF_FREEDOM = 4.05;
export const MAX_DEGREES_OF_FREEDOM = 200;

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0 (Lanczos approximation, g = 7: about 15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i += 1) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of the incomplete beta function (modified Lentz), valid for x < (a + 1) / (a + b + 2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let f = d;
  for (let m = 1; m <= 300; m += 1) {
    for (const numerator of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + numerator * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + numerator / c;
      c = Math.abs(c) < tiny ? tiny : c;
      f *= c * d;
    }
    if (Math.abs(c * d - 1) < 1e-15) break;
  }
  return f;
}

/** The regularised incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(x, a, b)) / a : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(T ≤ t) for Student's t with ν degrees of freedom. */
export function studentTCdf(t: number, nu: number): number {
  const tail = 0.5 * incompleteBeta(nu / (nu + t * t), nu / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with ν degrees of freedom (bisection on the cdf to 1e-12). */
export function studentTQuantile(p: number, nu: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  if (!(nu > 0)) throw new RangeError(`degrees of freedom must be positive, got ${nu}`);
  if (p < 0.5) return -studentTQuantile(1 - p, nu);
  let [low, high] = [0, 1];
  while (studentTCdf(high, nu) < p) high *= 2;
  while (high - low > 1e-12 * Math.max(1, high)) {
    const mid = (low + high) / 2;
    if (studentTCdf(mid, nu) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/** Log density of the unit-variance Student-t (ν > 2) at z. */
export function unitVarianceTLogDensity(z: number, nu: number): number {
  return logGamma((nu + 1) / 2) - logGamma(nu / 2) - 0.5 * Math.log(Math.PI * (nu - 2)) - ((nu + 1) / 2) * Math.log(1 + (z * z) / (nu - 2));
}

/**
 * Maximum-likelihood degrees of freedom of the unit-variance t for normalised residuals (the scale is
 * the volatility model's, not refitted: the shape alone is estimated), searched on log(ν − 4) over
 * [MIN_DEGREES_OF_FREEDOM, MAX_DEGREES_OF_FREEDOM]: a grid, then golden-section refinement around the
 * best grid point.
 */
export function fitDegreesOfFreedom(normalisedResiduals: readonly number[]): number {
  if (normalisedResiduals.length === 0) throw new RangeError('no residuals to fit degrees of freedom on');
  const logLikelihood = (u: number): number => {
    const nu = 4 + Math.exp(u);
    // the density's normalising constant once, not per residual
    let sum = normalisedResiduals.length * unitVarianceTLogDensity(0, nu);
    for (const z of normalisedResiduals) sum -= ((nu + 1) / 2) * Math.log(1 + (z * z) / (nu - 2));
    return sum;
  };
  const [from, to] = [Math.log(MIN_DEGREES_OF_FREEDOM - 4), Math.log(MAX_DEGREES_OF_FREEDOM - 4)];
  const points = 40;
  const grid = Array.from({ length: points + 1 }, (_, i) => from + ((to - from) * i) / points);
  const values = grid.map(logLikelihood);
  const best = values.indexOf(Math.max(...values));
  let [low, high] = [grid[Math.max(0, best - 1)] as number, grid[Math.min(points, best + 1)] as number];
  const ratio = (Math.sqrt(5) - 1) / 2;
  let [a, b] = [high - ratio * (high - low), low + ratio * (high - low)];
  let [la, lb] = [logLikelihood(a), logLikelihood(b)];
  // each step keeps one inner point and its likelihood, so it costs one evaluation
  while (high - low > 1e-6) {
    if (la >= lb) {
      [high, b, lb] = [b, a, la];
      a = high - ratio * (high - low);
      la = logLikelihood(a);
    } else {
      [low, a, la] = [a, b, lb];
      b = low + ratio * (high - low);
      lb = logLikelihood(b);
    }
  }
  return 4 + Math.exp((low + high) / 2);
}

/** Degrees of freedom of the sum of h independent innovations with ν_1: the t with the same excess kurtosis, 6 / (h·(ν_1 − 4)). */
export function aggregatedDegreesOfFreedom(nu1: number, step: number): number {
  return 4 + step * (nu1 - 4);
}

/** Half-width multiples (in standard deviations) of the central `coverage` band at steps 1..horizon, for daily innovations with ν_1. */
export function studentTMultiples(nu1: number, horizon: number, coverage: number): number[] {
  return Array.from({ length: horizon }, (_, h) => {
    const nu = aggregatedDegreesOfFreedom(nu1, h + 1);
    return studentTQuantile((1 + coverage) / 2, nu) * Math.sqrt((nu - 2) / nu);
  });
}
