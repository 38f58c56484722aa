import type { AccountantName, Mechanism } from "../mechanism.js";
import { PrivacyError } from "../privacy-error.js";
import { computeEpsilon } from "../compute-epsilon.js";
import { composePrv, DEFAULT_MAX_GRID_SIZE } from "../prv.js";
import { planPrvGrid } from "./prv-grid.js";

/**
 * Epsilon for the calibration search, cheaply where the answer is far from the target.
 *
 * The search only ever asks whether epsilon(sigma) is above the target, or more than the
 * tolerance below it, until it lands near the target. For PRV each sigma first gets a
 * coarse composition (5x the epsilon error, a grid about 5x smaller). Gopi et al.'s bounds
 * (epsilonAt(d + dErr) - err <= true epsilon(d) <= epsilonAt(d - dErr) + err) put the
 * fine upper bound U that Opacus would compute inside
 *   [coarse lower bound at delta, coarse upper bound at delta - 2 dErr + 2 fine err].
 * When that interval, widened by a margin for round-off, lies entirely above the target
 * or more than the tolerance below it, the coarse answer decides exactly as U would;
 * otherwise U is computed. Results are therefore those of Opacus's search.
 *
 * Returns epsilon, +Infinity for "certainly above the target", or NaN for "certainly more
 * than the tolerance below the target".
 */
export function createEpsilonClassifier(options: {
  accountant: AccountantName;
  delta: number;
  targetEpsilon: number;
  tolerance: number;
  historyFor: (noiseMultiplier: number) => Mechanism[];
  epsError?: number;
  deltaError?: number;
}): (noiseMultiplier: number) => number {
  const { accountant, delta, targetEpsilon, tolerance, historyFor } = options;
  const epsError = options.epsError ?? 0.01;
  const deltaError = options.deltaError ?? delta / 1000;
  const exact = (history: Mechanism[]): number =>
    computeEpsilon({ history, delta, accountant, ...(accountant === "prv" ? { epsError, deltaError } : {}) }).epsilon;
  // RDP is cheap; the bracket also needs delta - 3 deltaError to stay well above 0.
  if (accountant !== "prv" || deltaError > delta / 6) return (sigma) => exact(historyFor(sigma));

  const coarseEpsError = Math.min(10, Math.max(5 * epsError, 0.05));
  const MARGIN = 0.02;
  return (sigma) => {
    const history = historyFor(sigma);
    try {
      const fineError = planPrvGrid(history, epsError, deltaError, DEFAULT_MAX_GRID_SIZE).epsError;
      const coarse = composePrv(history, planPrvGrid(history, coarseEpsError, deltaError, DEFAULT_MAX_GRID_SIZE));
      const error = coarse.grid.epsError;
      const lowest = coarse.epsilonAt(delta + deltaError) - error;
      if (lowest - MARGIN > targetEpsilon) return Infinity;
      const highest = coarse.epsilonAt(delta - 3 * deltaError) + error + 2 * fineError;
      if (highest + MARGIN < targetEpsilon - tolerance) return Number.NaN;
    } catch (err) {
      // The coarse grid could not answer (for example a delta too small for it): decide
      // with the exact value, which reports its own errors.
      if (!(err instanceof PrivacyError)) throw err;
    }
    return exact(history);
  };
}
