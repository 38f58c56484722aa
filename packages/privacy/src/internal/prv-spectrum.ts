import type { Mechanism } from "../mechanism.js";
import { createRealFft } from "./fft.js";
import type { RealFft, RealSpectrum } from "./fft.js";
import type { PrvGrid } from "./prv-grid.js";
import type { TailSums } from "./band-limited-tail-sums.js";
import { lowFrequencySpectrum } from "./low-frequency-spectrum.js";

/**
 * The two routes from a history's PMFs to the bins of its composed spectrum that survive
 * (`composeByFft`, `composeLowFrequencies`), the inverse-FFT delta curve, and the caches
 * of FFT plans and buffers they share. Used by `../prv.ts`.
 */

/**
 * Recent FFT plans by size, weakly held: a calibration evaluates many epsilons on two grid
 * sizes (coarse and fine) within one synchronous job, while a server should not keep
 * hundreds of MiB of twiddle tables and buffers after its last accounting. The most
 * recently used plans of up to 2^20 + 2^18 points in all (a fine grid and its coarse
 * companion; about 45 MiB with their workspaces) are also held strongly, so a calibration
 * or the common sizes do not rebuild them after every garbage collection.
 */
const cachedPlans = new Map<number, WeakRef<RealFft>>();
const STRONG_PLAN_POINTS = 2 ** 20 + 2 ** 18;
let strongPlans: RealFft[] = [];
export function planFor(size: number): RealFft {
  let plan = strongPlans.find((p) => p.size === size) ?? cachedPlans.get(size)?.deref();
  if (plan === undefined) {
    plan = createRealFft(size);
    // At most one entry per power of two; drop the ones already collected.
    for (const [key, ref] of cachedPlans) if (ref.deref() === undefined) cachedPlans.delete(key);
    cachedPlans.set(size, new WeakRef(plan));
  }
  let points = 0;
  strongPlans = [plan, ...strongPlans.filter((p) => p !== plan)].filter((p) => (points += p.size) <= STRONG_PLAN_POINTS);
  return plan;
}

/**
 * The composed PMF's tail sums by inverse FFT and one backward pass over the grid, from its
 * spectrum in plan order (`re`, `im`; zero where a bin underflowed).
 */
export function denseDeltaCurve(fft: RealFft, re: Float64Array, im: Float64Array, dt: number): TailSums {
  const size = fft.size;
  const pmf = fft.inverse({ re, im });
  const decay = Math.exp(-dt);
  const mass = new Float64Array(size);
  let tail = 0;
  let scaledTail = 0;
  // The inverse's buffer is reused for the scaled sums: index i is read before it is written.
  for (let i = size - 1; i >= 0; i--) {
    const p = pmf[i]!;
    tail += p;
    scaledTail = p + decay * scaledTail;
    mass[i] = tail;
    pmf[i] = scaledTail;
  }
  return (i, out) => {
    out[0] = mass[i]!;
    out[1] = pmf[i]!;
  };
}

/** Buffers of the FFT route, reused by the next composition of the same size (they live as long as the plan). */
interface Workspace {
  readonly spectrum: RealSpectrum;
  readonly logMag: Float64Array;
  readonly phase: Float64Array;
}
const workspaces = new WeakMap<RealFft, Workspace>();
export function workspaceFor(fft: RealFft): Workspace {
  let workspace = workspaces.get(fft);
  if (workspace === undefined) {
    const bins = fft.size / 2 + 1;
    workspace = {
      spectrum: { re: new Float64Array(bins), im: new Float64Array(bins) },
      logMag: new Float64Array(bins),
      phase: new Float64Array(bins),
    };
    workspaces.set(fft, workspace);
  }
  return workspace;
}

/**
 * The PMF buffer by grid size, weakly held like the plans: composition is synchronous and
 * not re-entrant, so one buffer per size serves every call until a garbage collection.
 */
const pmfBuffers = new Map<number, WeakRef<Float64Array>>();
export function pmfBufferFor(size: number): Float64Array {
  const cached = pmfBuffers.get(size)?.deref();
  if (cached !== undefined) return cached;
  for (const [key, ref] of pmfBuffers) if (ref.deref() === undefined) pmfBuffers.delete(key);
  const buffer = new Float64Array(size);
  pmfBuffers.set(size, new WeakRef(buffer));
  return buffer;
}

/** The bins of the composed, centred spectrum that did not underflow, in polar form. */
export interface SurvivingBins {
  readonly frequency: Int32Array;
  readonly logMagnitude: Float64Array;
  readonly phase: Float64Array;
}

/**
 * Multiplies one mechanism's spectrum (re, im; N = steps) into the running product held as
 * log-magnitude and phase. |X| <= 1 (a PMF's characteristic function), so once the N-th
 * power of a bin is below exp(-746) it stays there: the bin is dropped (-Infinity) and its
 * phase skipped. A bin not yet scaled by an earlier mechanism underflows exactly when
 * |X|^2 < exp(-2 * 746 / N). `centring(i)`, when given, is the angle that centres bin i's
 * PMF on t = 0 (N times a small phase stays accurate, N times about pi k per step would
 * lose 8 digits at 10^6 steps).
 */
function multiplyInto(
  logMag: Float64Array,
  phase: Float64Array,
  re: Float64Array,
  im: Float64Array,
  steps: number,
  centring?: (index: number) => number,
): void {
  const floor = Math.exp((-2 * 746) / steps);
  for (let i = 0; i < logMag.length; i++) {
    const before = logMag[i]!;
    if (before === -Infinity) continue;
    let x = re[i]!;
    let y = im[i]!;
    const squared = x * x + y * y;
    if (before === 0 && squared < floor) {
      logMag[i] = -Infinity;
      continue;
    }
    const magnitude = before + 0.5 * steps * Math.log(squared);
    if (!(magnitude > -746)) {
      logMag[i] = -Infinity;
      continue;
    }
    logMag[i] = magnitude;
    if (centring !== undefined) {
      const angle = centring(i);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const rotated = x * c - y * s;
      y = x * s + y * c;
      x = rotated;
    }
    phase[i]! += steps * Math.atan2(y, x);
  }
}

function survivingBins(logMag: Float64Array, phase: Float64Array, frequencyOf: (index: number) => number): SurvivingBins {
  let count = 0;
  for (let i = 0; i < logMag.length; i++) if (logMag[i] !== -Infinity) count++;
  const bins = { frequency: new Int32Array(count), logMagnitude: new Float64Array(count), phase: new Float64Array(count) };
  let b = 0;
  for (let i = 0; i < logMag.length; i++) {
    if (logMag[i] === -Infinity) continue;
    bins.frequency[b] = frequencyOf(i);
    bins.logMagnitude[b] = logMag[i]!;
    bins.phase[b] = phase[i]!;
    b++;
  }
  return bins;
}

/**
 * The FFT route: every bin of every mechanism's spectrum (`pmf` already holds the first
 * mechanism's PMF; `discretizeNext` writes the next one into it).
 */
export function composeByFft(ordered: readonly Mechanism[], grid: PrvGrid, pmf: Float64Array, discretizeNext: (m: Mechanism) => void): SurvivingBins {
  const { size } = grid;
  const center = size / 2 - 1;
  const fft = planFor(size);
  // Synchronous and not re-entrant, so the workspace is free here.
  const { spectrum, logMag, phase } = workspaceFor(fft);
  logMag.fill(0);
  phase.fill(0);
  // Bin k times e^{2 pi i k center / n}, the angle reduced exactly in integers.
  const centring = (position: number): number => (2 * Math.PI * ((fft.binIndex(position) * center) % size)) / size;
  ordered.forEach((mechanism, i) => {
    if (i > 0) discretizeNext(mechanism);
    fft.forwardInPlace(pmf, spectrum);
    multiplyInto(logMag, phase, spectrum.re, spectrum.im, mechanism.steps, centring);
  });
  return survivingBins(logMag, phase, (position) => fft.binIndex(position));
}

/**
 * The low-frequency route: bins 0..maxBin only, which `certifiedBandLimit` proved are the
 * only ones that can survive the first (longest) mechanism's composition; no FFT, no plan.
 */
export function composeLowFrequencies(
  ordered: readonly Mechanism[],
  grid: PrvGrid,
  pmf: Float64Array,
  maxBin: number,
  discretizeNext: (m: Mechanism) => void,
): SurvivingBins {
  const center = grid.size / 2 - 1;
  const logMag = new Float64Array(maxBin + 1);
  const phase = new Float64Array(maxBin + 1);
  const re = new Float64Array(maxBin + 1);
  const im = new Float64Array(maxBin + 1);
  ordered.forEach((mechanism, i) => {
    if (i > 0) discretizeNext(mechanism);
    lowFrequencySpectrum(pmf, maxBin, center, re, im); // already centred on t = 0
    multiplyInto(logMag, phase, re, im, mechanism.steps);
  });
  return survivingBins(logMag, phase, (k) => k);
}
