import type { Mechanism } from "./mechanism.js";
import { PrivacyError } from "./privacy-error.js";
import { planPrvGrid } from "./internal/prv-grid.js";
import type { PrvGrid } from "./internal/prv-grid.js";
import { discretize } from "./internal/prv-discretize.js";
import { createBandLimitedTailSums } from "./internal/band-limited-tail-sums.js";
import type { TailSums } from "./internal/band-limited-tail-sums.js";
import { certifiedBandLimit, lowFrequencyCost } from "./internal/low-frequency-spectrum.js";
import { composeByFft, composeLowFrequencies, denseDeltaCurve, planFor, pmfBufferFor, workspaceFor } from "./internal/prv-spectrum.js";
import type { SurvivingBins } from "./internal/prv-spectrum.js";

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
 *
 * Two routes to the composed spectrum, with the same result up to round-off: when a
 * certificate shows that only a few low bins can survive N-fold composition (many steps),
 * those bins are computed directly (`internal/low-frequency-spectrum.ts`) and no FFT is
 * run; otherwise each PMF gets a real FFT. The delta curve then comes from the surviving
 * bins in closed form (`internal/band-limited-tail-sums.ts`) or, when many survive, from
 * an inverse FFT.
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

/** How {@link composePrv} turns the composed spectrum into the delta curve. */
export interface ComposeOptions {
  /**
   * "fft": inverse FFT and running sums over the whole grid; "sparse": closed-form tail
   * sums over the surviving bins only. Default: "sparse" when at most size / 128 bins
   * survive the composition (both give the same curve up to round-off; tests compare them).
   */
  readonly path?: "fft" | "sparse";
  /**
   * "fft": every bin of each spectrum by FFT; "low": only the bins that can survive
   * composition (`internal/low-frequency-spectrum.ts`), whenever they can be certified.
   * Default: "low" when certified and cheaper than the FFT. Both give the same bins up
   * to round-off (tests compare them).
   */
  readonly spectrum?: "fft" | "low";
}

/**
 * The sparse path costs about 25 evaluations of (surviving bins) terms per epsilonAt, the
 * dense one an inverse FFT and a pass over the grid: at size / 128 bins they are about even.
 */
const SPARSE_SIZE_RATIO = 128;

/** Index of the first i in [0, length) with at(i) >= value, at nondecreasing (numpy searchsorted, side "left"). */
function searchSorted(at: (i: number) => number, length: number, value: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at(mid) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Composes a normalized history (merged, no zero-step entries, non-empty) on a grid
 * (from `planPrvGrid`). Deltas below `Number.EPSILON * grid.size` cannot be resolved.
 */
export function composePrv(history: readonly Mechanism[], grid: PrvGrid, options: ComposeOptions = {}): ComposedPrv {
  const { size, dt, tMin } = grid;
  const center = size / 2 - 1; // t = 0 sits at index size/2 - 1
  // Composition commutes: the longest run first, since its spectrum decides how few bins
  // can survive.
  const ordered = [...history].sort((a, b) => b.steps - a.steps);
  const pmf = pmfBufferFor(size);
  const first = ordered[0]!;
  let totalShift = discretize(first, size, dt, tMin, pmf).shift * first.steps;
  let maxBin = Infinity;
  if (options.spectrum !== "fft") {
    const band = certifiedBandLimit(pmf, Math.exp(-746 / first.steps));
    const cheaper = lowFrequencyCost(size, band.maxBin, band.support) < 2.5 * size * Math.log2(size);
    if (band.maxBin < size / 2 && (cheaper || options.spectrum === "low")) maxBin = band.maxBin;
  }
  const discretizeNext = (m: Mechanism): void => {
    totalShift += discretize(m, size, dt, tMin, pmf).shift * m.steps;
  };
  const bins: SurvivingBins =
    maxBin < Infinity ? composeLowFrequencies(ordered, grid, pmf, maxBin, discretizeNext) : composeByFft(ordered, grid, pmf, discretizeNext);
  // A sum of N values centred on t = 0 is centred on t = 0: shifting the centred composition
  // back to index `center` (bin k times e^{-2 pi i k center / n}) lays it on the grid, which
  // is Opacus's `np.roll(composed, m)` done in the Fourier domain.
  const { frequency, logMagnitude, phase } = bins;
  const count = frequency.length;
  const re = new Float64Array(count);
  const im = new Float64Array(count);
  for (let b = 0; b < count; b++) {
    const k = frequency[b]!;
    const r = Math.exp(logMagnitude[b]!);
    const angle = phase[b]! - (2 * Math.PI * ((k * center) % size)) / size;
    re[b] = r * Math.cos(angle);
    im[b] = r * Math.sin(angle);
  }
  const path = maxBin < Infinity ? "sparse" : (options.path ?? (count <= size / SPARSE_SIZE_RATIO ? "sparse" : "fft"));
  let curve: TailSums;
  if (path === "sparse") {
    curve = createBandLimitedTailSums({ size, frequency, re, im }, dt);
  } else {
    // The whole spectrum in plan order, zero where a bin underflowed.
    const fft = planFor(size);
    const { spectrum } = workspaceFor(fft);
    spectrum.re.fill(0);
    spectrum.im.fill(0);
    for (let b = 0; b < count; b++) {
      const position = fft.positionOf(frequency[b]!);
      spectrum.re[position] = re[b]!;
      spectrum.im[position] = im[b]!;
    }
    curve = denseDeltaCurve(fft, spectrum.re, spectrum.im, dt);
  }
  const t0 = tMin + totalShift;

  // delta(eps) for eps in [t_{i-1}, t_i] is d1[i] - e^eps d2[i], with d1[i] = sum_{j>=i} p_j
  // and d2[i] = sum_{j>=i} p_j e^{-t_j} (Opacus's DiscretePRV.compute_epsilon); the curve
  // gives d1[i] and e^{t_i} d2[i], so e^{-t} never overflows.
  const sums = new Float64Array(2);
  /** -delta(t_i) = e^{t_i} d2[i] - d1[i], nondecreasing in i. */
  const negDeltaAt = (i: number): number => {
    curve(i, sums);
    return sums[1]! - sums[0]!;
  };

  function epsilonAt(target: number): number {
    if (Number.EPSILON * size > target) {
      throw new PrivacyError(
        "numerical-failure",
        `delta ${target} is too small for PRV accounting on a grid of ${size} points in double precision; use the rdp accountant or a larger delta`,
      );
    }
    const i = searchSorted(negDeltaAt, size, -target);
    if (i >= size) {
      throw new PrivacyError("numerical-failure", "PRV accounting could not bound epsilon inside its domain; use the rdp accountant");
    }
    const ti = t0 + i * dt;
    if (i === 0) return ti;
    curve(i, sums);
    const numerator = sums[0]! - target;
    const scaledD2 = sums[1]!;
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
