import type { Mechanism } from "./mechanism.js";
import { PrivacyError } from "./privacy-error.js";
import { logAdd, logSub } from "./internal/log-space.js";
import { logErfc } from "./internal/erfc.js";
import { requireDelta, requireNumber } from "./internal/validate.js";

/**
 * Rényi DP of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar and Zhang 2019,
 * "Rényi Differential Privacy of the Sampled Gaussian Mechanism", arXiv:1908.10530,
 * Section 3.3), computed exactly as Opacus and TF Privacy do: the finite binomial sum for
 * integer orders and the two-sided erfc series for fractional orders, all in log space.
 */

/**
 * Opacus's default RDP orders: 1.1, 1.2, ..., 10.9 and 12, 13, ..., 63
 * (`RDPAccountant.DEFAULT_ALPHAS`).
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, k) => 1 + (k + 1) / 10),
  ...Array.from({ length: 52 }, (_, k) => 12 + k),
]);

/** The orders of TF Privacy's `compute_dp_sgd_privacy` (for comparisons with it). */
export const TF_PRIVACY_RDP_ORDERS: readonly number[] = Object.freeze([
  1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5,
  ...Array.from({ length: 59 }, (_, k) => 5 + k),
  128, 256, 512,
]);

/** Past this many terms the fractional series falls back to the unsubsampled bound. */
const MAX_SERIES_TERMS = 100_000;

/** log(A_alpha) for integer alpha: a finite binomial sum (arXiv:1908.10530, Section 3.3). */
function logAIntegerOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * (sigma * sigma);
  let logA = -Infinity;
  let logBinom = 0;
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log((alpha - i + 1) / i);
    const s = logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) / twoSigma2;
    logA = logAdd(logA, s);
  }
  return logA;
}

/**
 * log(A_alpha) for fractional alpha: the integral split at z0 where the two Gaussians'
 * likelihood ratio crosses, each half an alternating binomial series with erfc weights.
 * Returns NaN when the series does not settle (callers then use a bound).
 */
function logAFractionalOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * (sigma * sigma);
  const sqrt2Sigma = Math.SQRT2 * sigma;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  let logCoef = 0; // log |binom(alpha, i)|
  let positive = true; // sign of binom(alpha, i)
  for (let i = 0; i < MAX_SERIES_TERMS; i++) {
    const j = alpha - i;
    const logT0 = logCoef + i * logQ + j * log1mQ;
    const logT1 = logCoef + j * logQ + i * log1mQ;
    const logE0 = -Math.LN2 + logErfc((i - z0) / sqrt2Sigma);
    const logE1 = -Math.LN2 + logErfc((z0 - j) / sqrt2Sigma);
    const logS0 = logT0 + (i * i - i) / twoSigma2 + logE0;
    const logS1 = logT1 + (j * j - j) / twoSigma2 + logE1;
    if (positive) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Number.isNaN(logA0) || Number.isNaN(logA1)) return Number.NaN;
    if (Math.max(logS0, logS1) < -30) return logAdd(logA0, logA1);
    const ratio = (alpha - i) / (i + 1);
    if (ratio < 0) positive = !positive;
    logCoef += Math.log(Math.abs(ratio));
  }
  return Number.NaN;
}

/**
 * RDP of one step at order alpha. Subsampling never increases Rényi divergence (joint
 * quasi-convexity, van Erven and Harremoës 2014, Theorem 13), so the full Gaussian
 * mechanism's alpha / (2 sigma^2) bounds every step; it is the exact value at q = 1 and
 * the fallback if the fractional series cannot be summed in double precision.
 */
function rdpOneStep(q: number, sigma: number, alpha: number): number {
  const gaussian = alpha / (2 * (sigma * sigma));
  if (q === 1) return gaussian;
  const logA = Number.isInteger(alpha)
    ? logAIntegerOrder(q, sigma, alpha)
    : logAFractionalOrder(q, sigma, alpha);
  if (!Number.isFinite(logA)) return gaussian;
  // A_alpha >= 1, so a negative log is rounding of a value near 0.
  return Math.min(gaussian, Math.max(0, logA / (alpha - 1)));
}

/** Checks RDP orders: a non-empty array of numbers in (1, 10000]. */
export function validateOrders(orders: readonly number[]): void {
  if (!Array.isArray(orders) || orders.length === 0) {
    throw new PrivacyError("invalid-argument", "orders must be a non-empty array of numbers in (1, 10000]");
  }
  orders.forEach((a, k) => requireNumber(`orders[${k}]`, a, { min: 1, max: 10000, minExclusive: true }));
}

/**
 * RDP of `mechanism` (all its steps) at each order: steps times the one-step RDP.
 * Values are finite for every valid mechanism.
 *
 * @param orders RDP orders alpha, each in (1, 10000]; default {@link DEFAULT_RDP_ORDERS}.
 */
export function computeRdp(mechanism: Mechanism, orders: readonly number[] = DEFAULT_RDP_ORDERS): Float64Array {
  validateOrders(orders);
  const { noiseMultiplier, sampleRate, steps } = mechanism;
  const out = new Float64Array(orders.length);
  if (steps === 0) return out;
  for (let k = 0; k < orders.length; k++) {
    out[k] = rdpOneStep(sampleRate, noiseMultiplier, orders[k]!) * steps;
  }
  return out;
}

/** The (epsilon, delta) bound of an RDP curve and the order that attains it. */
export interface RdpEpsilon {
  readonly epsilon: number;
  readonly order: number;
}

/**
 * Converts RDP to (epsilon, delta)-DP by Balle et al. 2020, "Hypothesis testing
 * interpretations and Rényi differential privacy", Theorem 21 (arXiv:1905.09982), as
 * Opacus's `get_privacy_spent` does:
 *
 *   epsilon = min over alpha of  rdp(alpha) - (log delta + log alpha) / (alpha - 1) + log((alpha - 1) / alpha)
 *
 * clamped at 0 (any (epsilon, delta) bound implies (max(epsilon, 0), delta)).
 */
export function rdpToEpsilon(orders: readonly number[], rdp: ArrayLike<number>, delta: number): RdpEpsilon {
  validateOrders(orders);
  requireDelta("delta", delta);
  if (rdp.length !== orders.length) {
    throw new PrivacyError("invalid-argument", `rdp must have one value per order (${orders.length}), got ${rdp.length}`);
  }
  const logDelta = Math.log(delta);
  let best = Infinity;
  let bestOrder = orders[0]!;
  for (let k = 0; k < orders.length; k++) {
    const a = orders[k]!;
    const r = rdp[k]!;
    if (Number.isNaN(r) || r < 0) {
      throw new PrivacyError("invalid-argument", `rdp[${k}] must be a number >= 0, got ${r}`);
    }
    const eps = r - (logDelta + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
    if (eps < best) {
      best = eps;
      bestOrder = a;
    }
  }
  return { epsilon: Math.max(0, best), order: bestOrder };
}
