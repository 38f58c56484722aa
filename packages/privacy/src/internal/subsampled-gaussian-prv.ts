import { logAdd, logSub } from "./log-space.js";
import { normalSf } from "./erfc.js";
import { gaussLegendre, integrate } from "./gauss-legendre.js";

/**
 * The privacy loss random variable (PRV) of one step of the Poisson-subsampled Gaussian
 * mechanism (Gopi, Lee and Wutschitz 2021, "Numerical Composition of Differential
 * Privacy", arXiv:2106.02848, Propositions B.1 and B.4): with P = (1 - q) N(0, s^2) +
 * q N(1, s^2) and Q = N(0, s^2), the loss t(x) = log(P(x) / Q(x)) = log(q e^u + 1 - q),
 * u = (2x - 1) / (2 s^2), for x drawn from P. Its CDF is Opacus's
 * 1 - q/2 erfc((2 z s^2 - 1) / (2 sqrt2 s)) - (1 - q)/2 erfc((2 z s^2 + 1) / (2 sqrt2 s))
 * with z = u(t); written here in x = s^2 z + 1/2, which keeps both tails accurate.
 */
export interface SubsampledGaussianPrv {
  /** P(T <= t). */
  cdf(t: number): number;
  /** P(T > t), accurate where it is tiny (no 1 - cdf cancellation). */
  sf(t: number): number;
  /** E[T | tMin < T <= tMax] by Gauss-Legendre quadrature in x. */
  truncatedMean(tMin: number, tMax: number): number;
  /** log(1 - q): the smallest value of T (-Infinity at q = 1). */
  readonly lowerSupport: number;
}

const RULE = gaussLegendre(16);
/** Each Gaussian component is integrated over its mean +- 40 sigma (tails below 1e-340). */
const WINDOW_SIGMAS = 40;
const PANELS_PER_WINDOW = 512;

export function createSubsampledGaussianPrv(sampleRate: number, noiseMultiplier: number): SubsampledGaussianPrv {
  const q = sampleRate;
  const sigma = noiseMultiplier;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q); // -Infinity at q = 1
  const sigma2 = sigma * sigma;

  /** x at which the loss equals t; -Infinity below the support. */
  function xOfT(t: number): number {
    if (t <= log1mQ) return -Infinity;
    const u = logSub(t, log1mQ) - logQ;
    return sigma2 * u + 0.5;
  }

  function tOfX(x: number): number {
    const u = (2 * x - 1) / (2 * sigma2);
    return logAdd(logQ + u, log1mQ);
  }

  function cdfAtX(x: number): number {
    if (x === -Infinity) return 0;
    if (x === Infinity) return 1;
    return (1 - q) * normalSf(-x / sigma) + q * normalSf((1 - x) / sigma);
  }

  function sfAtX(x: number): number {
    if (x === -Infinity) return 1;
    if (x === Infinity) return 0;
    return (1 - q) * normalSf(x / sigma) + q * normalSf((x - 1) / sigma);
  }

  function density(x: number): number {
    const a = x / sigma;
    const b = (x - 1) / sigma;
    return ((1 - q) * Math.exp(-0.5 * a * a) + q * Math.exp(-0.5 * b * b)) / (sigma * Math.sqrt(2 * Math.PI));
  }

  function truncatedMean(tMin: number, tMax: number): number {
    const xa = xOfT(tMin);
    const xb = xOfT(tMax);
    const mass = sfAtX(xa) - sfAtX(xb);
    const f = (x: number): number => tOfX(x) * density(x);
    // Two windows around the component means 0 and 1, merged when they overlap.
    const windows: [number, number][] = [];
    const w0: [number, number] = [-WINDOW_SIGMAS * sigma, WINDOW_SIGMAS * sigma];
    const w1: [number, number] = [1 - WINDOW_SIGMAS * sigma, 1 + WINDOW_SIGMAS * sigma];
    if (q === 1) windows.push(w1);
    else if (w1[0] <= w0[1]) windows.push([w0[0], w1[1]]);
    else windows.push(w0, w1);
    let integral = 0;
    for (const [lo, hi] of windows) {
      const a = Math.max(lo, xa);
      const b = Math.min(hi, xb);
      integral += integrate(f, a, b, PANELS_PER_WINDOW, RULE);
    }
    return integral / mass;
  }

  return {
    cdf: (t) => cdfAtX(xOfT(t)),
    sf: (t) => sfAtX(xOfT(t)),
    truncatedMean,
    lowerSupport: log1mQ,
  };
}
