import type { Mechanism } from "./mechanism.js";
import { PrivacyError } from "./privacy-error.js";
import { createRealFft } from "./internal/fft.js";
import type { RealFft } from "./internal/fft.js";
import { planPrvGrid } from "./internal/prv-grid.js";
import type { PrvGrid } from "./internal/prv-grid.js";
import { discretize } from "./internal/prv-discretize.js";

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

/** A composed privacy loss distribution on its grid. */
export interface ComposedPrv {
  readonly grid: PrvGrid;
  /**
   * The estimate of epsilon at `delta` read off the discrete distribution (no error term):
   * Gopi et al. guarantee epsilonAt(d + deltaError) - epsError <= true epsilon(d) <=
   * epsilonAt(d - deltaError) + epsError.
   */
  epsilonAt(delta: number): number;
}

export const DEFAULT_MAX_GRID_SIZE = 2 ** 22;

/**
 * Recent FFT plans by size, weakly held: a calibration evaluates many epsilons on two grid
 * sizes (coarse and fine) within one synchronous job, which keeps the plans alive, while a
 * server does not keep tens of MiB of twiddle tables after its last accounting. The last
 * plan of up to 2^20 points (about 20 MiB) is also held strongly, so the common sizes do
 * not pay the plan again at every request.
 */
const cachedPlans = new Map<number, WeakRef<RealFft>>();
const STRONG_PLAN_LIMIT = 2 ** 20;
let strongPlan: RealFft | undefined;
function planFor(size: number): RealFft {
  if (strongPlan?.size === size) return strongPlan;
  const cached = cachedPlans.get(size)?.deref();
  if (cached !== undefined) return cached;
  const plan = createRealFft(size);
  if (cachedPlans.size >= 4) cachedPlans.clear();
  cachedPlans.set(size, new WeakRef(plan));
  if (size <= STRONG_PLAN_LIMIT) strongPlan = plan;
  return plan;
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

/**
 * Composes a normalized history (merged, no zero-step entries, non-empty) on a grid
 * (from `planPrvGrid`). Deltas below `Number.EPSILON * grid.size` cannot be resolved.
 */
export function composePrv(history: readonly Mechanism[], grid: PrvGrid): ComposedPrv {
  const { size, dt, tMin, totalSteps } = grid;
  // Compose in the Fourier domain: the spectrum of an N-fold self-convolution is the N-th
  // power, and a heterogeneous history multiplies the spectra (circular convolution, as
  // Opacus's `_compose_fourier`; the safe domain keeps the wrapped mass below deltaError).
  const fft = planFor(size);
  const bins = size / 2 + 1;
  const logMag = new Float64Array(bins);
  const phase = new Float64Array(bins);
  let totalShift = 0;
  for (const mechanism of history) {
    const { pmf, shift } = discretize(mechanism, size, dt, tMin);
    totalShift += shift * mechanism.steps;
    const spectrum = fft.forward(pmf);
    // |spectrum| <= 1 (a PMF's characteristic function), so once the N-th power of a bin
    // is below exp(-746) it stays there: drop it and skip its phase. A bin not yet scaled
    // by an earlier mechanism underflows exactly when |X|^2 < exp(-2 * 746 / N).
    const floor = Math.exp((-2 * 746) / mechanism.steps);
    for (let k = 0; k < bins; k++) {
      const before = logMag[k]!;
      if (before === -Infinity) continue;
      const re = spectrum.re[k]!;
      const im = spectrum.im[k]!;
      const squared = re * re + im * im;
      if (before === 0 && squared < floor) {
        logMag[k] = -Infinity;
        continue;
      }
      const magnitude = before + 0.5 * mechanism.steps * Math.log(squared);
      if (!(magnitude > -746)) {
        logMag[k] = -Infinity;
        continue;
      }
      logMag[k] = magnitude;
      phase[k]! += mechanism.steps * Math.atan2(im, re);
    }
  }
  // Polar to Cartesian in place (logMag becomes re, phase becomes im).
  for (let k = 0; k < bins; k++) {
    const lm = logMag[k]!;
    if (lm === -Infinity) {
      logMag[k] = 0;
      phase[k] = 0;
      continue;
    }
    const r = Math.exp(lm);
    const angle = phase[k]!;
    logMag[k] = r * Math.cos(angle);
    phase[k] = r * Math.sin(angle);
  }
  const circular = fft.inverse({ re: logMag, im: phase });
  // A sum of N grid values sits at index sum - (N - 1)(size/2 - 1) (mod size): roll by
  // N - 1, plus size/2 when N is even (Opacus's `np.roll(composed, m)`).
  const roll = (((totalSteps - 1) % size) + (totalSteps % 2 === 0 ? size / 2 : 0)) % size;

  // delta(eps) for eps in [t_{i-1}, t_i] is d1[i] - e^eps d2[i], with d1[i] = sum_{j>=i} p_j
  // and d2[i] = sum_{j>=i} p_j e^{-t_j} (Opacus's DiscretePRV.compute_epsilon). d2 is kept
  // scaled as e^{t_i} d2[i] by the recurrence below, so e^{-t} never overflows.
  const t0 = tMin + totalShift;
  const decay = Math.exp(-dt);
  const d1 = new Float64Array(size);
  const negDelta = new Float64Array(size); // e^{t_i} d2[i] - d1[i] = -delta(t_i)
  let tail = 0;
  let scaledTail = 0;
  for (let i = size - 1; i >= 0; i--) {
    const source = i - roll;
    const p = circular[source < 0 ? source + size : source]!;
    tail += p;
    scaledTail = p + decay * scaledTail;
    d1[i] = tail;
    negDelta[i] = scaledTail - tail;
  }

  function epsilonAt(target: number): number {
    if (Number.EPSILON * size > target) {
      throw new PrivacyError(
        "numerical-failure",
        `delta ${target} is too small for PRV accounting on a grid of ${size} points in double precision; use the rdp accountant or a larger delta`,
      );
    }
    const i = searchSorted(negDelta, -target);
    if (i >= size) {
      throw new PrivacyError("numerical-failure", "PRV accounting could not bound epsilon inside its domain; use the rdp accountant");
    }
    const ti = t0 + i * dt;
    if (i === 0) return ti;
    const numerator = d1[i]! - target;
    const scaledD2 = negDelta[i]! + d1[i]!;
    const value = numerator > 0 && scaledD2 > 0 ? ti + Math.log(numerator / scaledD2) : ti;
    // The solution lies in [t_{i-1}, t_i]; clamping only guards against FFT round-off.
    return Math.min(ti, Math.max(ti - dt, value));
  }

  return { grid, epsilonAt };
}

/** PRV epsilon bounds of a normalized history (merged, no zero-step entries, non-empty). */
export function computePrvEpsilon(history: readonly Mechanism[], options: PrvOptions): PrvBounds {
  const { delta, epsError, deltaError } = options;
  const grid = planPrvGrid(history, epsError, deltaError, options.maxGridSize ?? DEFAULT_MAX_GRID_SIZE);
  if (Number.EPSILON * grid.size > delta - deltaError) {
    throw new PrivacyError(
      "numerical-failure",
      `delta ${delta} is too small for PRV accounting on a grid of ${grid.size} points in double precision; use the rdp accountant or a larger delta`,
    );
  }
  const composed = composePrv(history, grid);
  const upper = composed.epsilonAt(delta - deltaError) + grid.epsError;
  const lower = Math.max(0, composed.epsilonAt(delta + deltaError) - grid.epsError);
  const estimate = Math.max(0, composed.epsilonAt(delta));
  return { lower, estimate, upper: Math.max(0, upper), epsError: grid.epsError, gridSize: grid.size };
}
