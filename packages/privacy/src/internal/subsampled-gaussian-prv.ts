import { logAdd, logSub } from "./log-space.js";
import { erfcxLarge, normalSf } from "./erfc.js";
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
/** Cody's erfcx rational forms hold from here up. */
const ERFCX_FROM = 0.46875;

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

  const ratio = (1 - q) / q;
  const logRatio = log1mQ - logQ;
  const invSigmaSqrt2 = Math.SQRT1_2 / sigma;

  /**
   * P(T > t) with three transcendental calls instead of six, for the discretization's right
   * tail (millions of edges on large grids). With d = t - log(1 - q):
   *   e^u = (1 - q) expm1(d) / q,  x = s^2 u + 1/2,
   *   2 sf = (1 - q) erfc(y0) + q erfc(y1),  y0 = x / (s sqrt2),  y1 = y0 - 1 / (s sqrt2),
   * and since y0^2 - y1^2 = u, both erfc share one exponential:
   *   2 sf = e^{-y0^2} ((1 - q) erfcx(y0) + q e^u erfcx(y1))   (Cody's scaled erfcx).
   * Outside the range where that form is safe (y1 small, or an exponent near under- or
   * overflow) it is the plain two-erfc formula.
   */
  function sf(t: number): number {
    if (t <= log1mQ) return 1;
    const d = t - log1mQ;
    if (q < 1 && d < 700) {
      const em = Math.expm1(d);
      const u = Math.log(em) + logRatio;
      const y0 = (sigma2 * u + 0.5) * invSigmaSqrt2;
      const y1 = y0 - invSigmaSqrt2;
      const square = y0 * y0;
      if (y1 > ERFCX_FROM && square < 700 && u < 700) {
        return 0.5 * Math.exp(-square) * ((1 - q) * erfcxLarge(y0) + q * (ratio * em) * erfcxLarge(y1));
      }
    }
    return sfAtX(xOfT(t));
  }

  return {
    cdf: (t) => cdfAtX(xOfT(t)),
    sf,
    truncatedMean,
    lowerSupport: log1mQ,
  };
}
