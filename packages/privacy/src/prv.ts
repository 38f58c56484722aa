import type { Mechanism } from "./mechanism.js";
import { PrivacyError } from "./privacy-error.js";
import { computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon } from "./rdp.js";
import { createRealFft } from "./internal/fft.js";
import { createSubsampledGaussianPrv } from "./internal/subsampled-gaussian-prv.js";

/**
 * The PRV accountant (Gopi, Lee and Wutschitz 2021, "Numerical Composition of
 * Differential Privacy", arXiv:2106.02848), as Opacus implements it
 * (`opacus/accountants/prv.py` and `analysis/prv/`): each mechanism's privacy loss
 * distribution is truncated to [-L, L], discretized on a mesh, mean-corrected, composed
 * by FFT, and read off as lower bound, estimate and upper bound of epsilon.
 *
 * Two departures, both on the safe side: the grid length is rounded up to a power of two
 * by refining the mesh (never coarsening it) for the radix-2 FFT; and when the mesh that
 * `epsError` demands would need more than `maxGridSize` points, the mesh is coarsened and
 * the error term added to the bounds grows with it (Gopi et al. Theorem 5.5's error is
 * mesh * sqrt(N log(12 / deltaError) / 2)), so the upper bound stays a guarantee.
 */

/** Options of {@link computePrvEpsilon}. */
export interface PrvOptions {
  readonly delta: number;
  readonly epsError: number;
  readonly deltaError: number;
  /** Largest grid, a power of two; default 2^22 points (32 MiB per array). */
  readonly maxGridSize?: number;
}

/** Lower bound, estimate and upper bound of epsilon; `upper` is the guarantee. */
export interface PrvBounds {
  readonly lower: number;
  readonly estimate: number;
  readonly upper: number;
  /** The epsilon error actually added (epsError, or more when the grid was capped). */
  readonly epsError: number;
  /** Number of grid points used. */
  readonly gridSize: number;
}

export const DEFAULT_MAX_GRID_SIZE = 2 ** 22;
const MIN_GRID_SIZE = 1024;

/**
 * Half-width L of the domain: remark 5.6 of Gopi et al., as Opacus's
 * `compute_safe_domain_size`: the RDP epsilon of the whole history at deltaError / 4 and of
 * each single step at deltaError / (8 N), plus 3.
 */
function safeDomainHalfWidth(history: readonly Mechanism[], totalSteps: number, epsError: number, deltaError: number): number {
  const orders = DEFAULT_RDP_ORDERS;
  const total = new Float64Array(orders.length);
  for (const m of history) {
    const rdp = computeRdp(m, orders);
    for (let k = 0; k < total.length; k++) total[k]! += rdp[k]!;
  }
  let lMax = rdpToEpsilon(orders, total, deltaError / 4).epsilon;
  for (const m of history) {
    const one = computeRdp({ ...m, steps: 1 }, orders);
    lMax = Math.max(lMax, rdpToEpsilon(orders, one, deltaError / (8 * totalSteps)).epsilon);
  }
  return Math.max(lMax, epsError) + 3;
}

/** The discretized PMF of one mechanism's single-step PRV on the grid t_i = tMin + i dt. */
function discretize(mechanism: Mechanism, size: number, dt: number, tMin: number): { pmf: Float64Array; shift: number } {
  const prv = createSubsampledGaussianPrv(mechanism.sampleRate, mechanism.noiseMultiplier);
  const tMax = tMin + (size - 1) * dt;
  // Truncated to [tMin, tMax] and renormalized, as Opacus's TruncatedPrivacyRandomVariable.
  const cdfMin = prv.cdf(tMin);
  const sfMax = prv.sf(tMax);
  const mass = 1 - cdfMin - sfMax;
  const pmf = new Float64Array(size);
  // Bin i covers [t_i - dt/2, t_i + dt/2] clipped to [tMin, tMax]. Left of the median the
  // CDF is differenced, right of it the survival function, so tail bins keep their
  // relative accuracy.
  let previousLeft = 0; // cdf(edge) - cdfMin on the left branch
  let previousRight = 0; // sf(edge) - sfMax on the right branch
  let onLeft = true;
  let sumT = 0;
  for (let i = 0; i < size; i++) {
    const edge = i === size - 1 ? tMax : Math.min(tMax, tMin + (i + 0.5) * dt);
    let p: number;
    if (edge <= prv.lowerSupport && tMin <= prv.lowerSupport) {
      p = 0; // no mass below log(1 - q)
      previousLeft = 0;
    } else if (onLeft) {
      const c = prv.cdf(edge);
      if (c < 0.5) {
        const left = c - cdfMin;
        p = left - previousLeft;
        previousLeft = left;
      } else {
        onLeft = false;
        const right = prv.sf(edge) - sfMax;
        // mass of [previousEdge, edge] = (1 - sfMax - cdfMin) - previousLeft - right
        p = mass - previousLeft - right;
        previousRight = right;
      }
    } else {
      const right = prv.sf(edge) - sfMax;
      p = previousRight - right;
      previousRight = right;
    }
    const value = p / mass;
    pmf[i] = value;
    sumT += (tMin + i * dt) * value;
  }
  // Mean correction (Gopi et al. Section 5.2): shift the grid so the discrete mean equals
  // the continuous one.
  const shift = prv.truncatedMean(tMin, tMax) - sumT;
  if (!(Math.abs(shift) < dt / 2)) {
    throw new PrivacyError(
      "numerical-failure",
      `PRV discretization of (noiseMultiplier ${mechanism.noiseMultiplier}, sampleRate ${mechanism.sampleRate}) moved its mean by ${shift}, more than half a grid step; use the rdp accountant or a larger epsError`,
    );
  }
  return { pmf, shift };
}

/** Index of the first element >= value (numpy searchsorted, side "left"). */
function searchSorted(array: Float64Array, value: number): number {
  let lo = 0;
  let hi = array.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (array[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** PRV epsilon bounds of a normalized history (merged, no zero-step entries, non-empty). */
export function computePrvEpsilon(history: readonly Mechanism[], options: PrvOptions): PrvBounds {
  const { delta, epsError, deltaError } = options;
  const maxGridSize = options.maxGridSize ?? DEFAULT_MAX_GRID_SIZE;
  const totalSteps = history.reduce((s, m) => s + m.steps, 0);
  const spread = Math.sqrt((totalSteps * Math.log(12 / deltaError)) / 2);
  const mesh = epsError / spread;
  const halfWidth = safeDomainHalfWidth(history, totalSteps, epsError, deltaError);

  // Grid t_i = (i - (size/2 - 1)) dt, i = 0..size-1: symmetric up to one point, 0 on the grid.
  const needed = 2 * Math.ceil(halfWidth / mesh) + 2;
  let size = MIN_GRID_SIZE;
  while (size < needed && size < maxGridSize) size *= 2;
  const dt = halfWidth / (size / 2 - 1);
  const effectiveEpsError = Math.max(epsError, dt * spread);
  const tMin = -(size / 2 - 1) * dt;

  if (Number.EPSILON * size > delta - deltaError) {
    throw new PrivacyError(
      "numerical-failure",
      `delta ${delta} is too small for PRV accounting on a grid of ${size} points in double precision; use the rdp accountant or a larger delta`,
    );
  }

  // Compose in the Fourier domain: the spectrum of an N-fold self-convolution is the N-th
  // power, and a heterogeneous history multiplies the spectra (circular convolution, as
  // Opacus's `_compose_fourier`; the safe domain keeps the wrapped mass below deltaError).
  const fft = createRealFft(size);
  const bins = size / 2 + 1;
  const logMag = new Float64Array(bins);
  const phase = new Float64Array(bins);
  let totalShift = 0;
  for (const mechanism of history) {
    const { pmf, shift } = discretize(mechanism, size, dt, tMin);
    totalShift += shift * mechanism.steps;
    const spectrum = fft.forward(pmf);
    for (let k = 0; k < bins; k++) {
      const re = spectrum.re[k]!;
      const im = spectrum.im[k]!;
      logMag[k]! += mechanism.steps * Math.log(Math.hypot(re, im));
      phase[k]! += mechanism.steps * Math.atan2(im, re);
    }
  }
  const re = new Float64Array(bins);
  const im = new Float64Array(bins);
  for (let k = 0; k < bins; k++) {
    const r = Math.exp(logMag[k]!);
    if (r === 0) continue;
    re[k] = r * Math.cos(phase[k]!);
    im[k] = r * Math.sin(phase[k]!);
  }
  const circular = fft.inverse({ re, im });
  // A sum of N grid values sits at index sum - (N - 1)(size/2 - 1) (mod size): roll by
  // N - 1, plus size/2 when N is even (Opacus's `np.roll(composed, m)`).
  const roll = ((totalSteps - 1) % size + (totalSteps % 2 === 0 ? size / 2 : 0)) % size;
  const pmf = new Float64Array(size);
  for (let i = 0; i < size; i++) pmf[(i + roll) % size] = circular[i]!;

  // delta(eps) for eps in [t_{i-1}, t_i] is d1[i] - e^eps d2[i], with d1[i] = sum_{j>=i} p_j
  // and d2[i] = sum_{j>=i} p_j e^{-t_j} (Opacus's DiscretePRV.compute_epsilon). d2 is kept
  // scaled as e^{t_i} d2[i] by the recurrence below, so e^{-t} never overflows.
  const t0 = tMin + totalShift;
  const decay = Math.exp(-dt);
  const d1 = new Float64Array(size);
  const scaledD2 = new Float64Array(size);
  const negDelta = new Float64Array(size);
  let tail = 0;
  let scaledTail = 0;
  for (let i = size - 1; i >= 0; i--) {
    tail += pmf[i]!;
    scaledTail = pmf[i]! + decay * scaledTail;
    d1[i] = tail;
    scaledD2[i] = scaledTail;
    negDelta[i] = scaledTail - tail;
  }

  function epsilonAt(target: number): number {
    const i = searchSorted(negDelta, -target);
    if (i >= size) {
      throw new PrivacyError(
        "numerical-failure",
        "PRV accounting could not bound epsilon inside its domain; use the rdp accountant",
      );
    }
    const ti = t0 + i * dt;
    if (i === 0) return ti;
    const numerator = d1[i]! - target;
    const value = numerator > 0 && scaledD2[i]! > 0 ? ti + Math.log(numerator / scaledD2[i]!) : ti;
    // The solution lies in [t_{i-1}, t_i]; clamping only guards against FFT round-off.
    return Math.min(ti, Math.max(ti - dt, value));
  }

  const upper = epsilonAt(delta - deltaError) + effectiveEpsError;
  const lower = Math.max(0, epsilonAt(delta + deltaError) - effectiveEpsError);
  const estimate = Math.max(0, epsilonAt(delta));
  return { lower, estimate, upper: Math.max(0, upper), epsError: effectiveEpsError, gridSize: size };
}
