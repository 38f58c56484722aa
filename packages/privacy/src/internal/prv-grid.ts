import type { Mechanism } from "../mechanism.js";
import { computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon } from "../rdp.js";

/**
 * The grid of the PRV accountant: a symmetric domain [-L, L] (plus one point) with mesh
 * dt, t_i = (i - (size/2 - 1)) dt, so that 0 is a grid point and an N-fold sum of grid
 * values maps back onto the grid by a fixed roll.
 */
export interface PrvGrid {
  readonly size: number;
  readonly dt: number;
  readonly tMin: number;
  /** The epsilon error this mesh guarantees: dt * sqrt(N log(12 / deltaError) / 2), at least the one asked for. */
  readonly epsError: number;
  readonly deltaError: number;
  readonly totalSteps: number;
}

/** Fewest grid points used (tiny histories). */
const MIN_GRID_SIZE = 1024;

/**
 * Half-width L of the domain: remark 5.6 of Gopi et al., as Opacus's
 * `compute_safe_domain_size`: the RDP epsilon of the whole history at deltaError / 4 and of
 * each single step at deltaError / (8 N), plus 3.
 */
export function safeDomainHalfWidth(history: readonly Mechanism[], totalSteps: number, epsError: number, deltaError: number): number {
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

/**
 * Chooses the grid: Opacus's mesh epsError / sqrt(N log(12 / deltaError) / 2) and half-width
 * L, with the point count rounded up to a power of two by refining the mesh; above
 * `maxGridSize` the mesh is coarsened instead and the guaranteed error grows with it.
 */
export function planPrvGrid(history: readonly Mechanism[], epsError: number, deltaError: number, maxGridSize: number): PrvGrid {
  const totalSteps = history.reduce((s, m) => s + m.steps, 0);
  const spread = Math.sqrt((totalSteps * Math.log(12 / deltaError)) / 2);
  const mesh = epsError / spread;
  const halfWidth = safeDomainHalfWidth(history, totalSteps, epsError, deltaError);
  const needed = 2 * Math.ceil(halfWidth / mesh) + 2;
  let size = MIN_GRID_SIZE;
  while (size < needed && size < maxGridSize) size *= 2;
  const dt = halfWidth / (size / 2 - 1);
  return { size, dt, tMin: -(size / 2 - 1) * dt, epsError: Math.max(epsError, dt * spread), deltaError, totalSteps };
}
