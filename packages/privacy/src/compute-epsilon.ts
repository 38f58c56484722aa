import { normalizeHistory, resolveAccountant } from "./mechanism.js";
import type { AccountantName, Mechanism } from "./mechanism.js";
import { computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon, validateOrders } from "./rdp.js";
import { computePrvEpsilon } from "./prv.js";
import { requireDelta, requireNumber } from "./internal/validate.js";

/** The privacy spent by a history of mechanisms, at one delta. */
export interface EpsilonResult {
  /** The guarantee: the history is (epsilon, delta)-DP. For PRV this is `epsilonUpper`. */
  readonly epsilon: number;
  readonly accountant: AccountantName;
  /** RDP only: the order alpha at which the conversion was tightest. */
  readonly order?: number;
  /** PRV only: lower bound on the true epsilon (at delta + deltaError, minus epsError). */
  readonly epsilonLower?: number;
  /** PRV only: the estimate of the true epsilon at delta. */
  readonly epsilonEstimate?: number;
  /** PRV only: upper bound (at delta - deltaError, plus epsError); equals `epsilon`. */
  readonly epsilonUpper?: number;
}

/** Options of {@link computeEpsilon}. */
export interface ComputeEpsilonOptions {
  /** The mechanisms run, in any order; their composition is accounted, never a sum of epsilons. */
  readonly history: readonly Mechanism[];
  /** Target delta, in (0, 1). */
  readonly delta: number;
  /** Accountant; default `"rdp"`. */
  readonly accountant?: AccountantName;
  /** PRV: allowed error in epsilon, in (0, 10]; default 0.01 (Opacus). */
  readonly epsError?: number;
  /** PRV: allowed error in delta, in (0, delta); default delta / 1000 (Opacus). */
  readonly deltaError?: number;
  /** RDP: orders to optimize over, each in (1, 10000]; default {@link DEFAULT_RDP_ORDERS}. */
  readonly orders?: readonly number[];
}

/**
 * The epsilon of the composition of `history` at `delta`.
 *
 * @example
 * computeEpsilon({ history: [{ noiseMultiplier: 1.5, sampleRate: 0.04, steps: 2250 }], delta: 1e-5 })
 * // { epsilon: 7.3291111714..., accountant: "rdp", order: 3.9 }
 */
export function computeEpsilon(options: ComputeEpsilonOptions): EpsilonResult {
  const delta = requireDelta("delta", options.delta);
  const accountant = resolveAccountant(options.accountant);
  const history = normalizeHistory(options.history);
  if (accountant === "prv") {
    const epsError = requireNumber("epsError", options.epsError ?? 0.01, { min: 0, max: 10, minExclusive: true });
    const deltaError = requireNumber("deltaError", options.deltaError ?? delta / 1000, {
      min: 0,
      max: delta,
      minExclusive: true,
      maxExclusive: true,
    });
    if (history.length === 0) {
      return { epsilon: 0, accountant, epsilonLower: 0, epsilonEstimate: 0, epsilonUpper: 0 };
    }
    const bounds = computePrvEpsilon(history, { delta, epsError, deltaError });
    return { epsilon: bounds.upper, accountant, epsilonLower: bounds.lower, epsilonEstimate: bounds.estimate, epsilonUpper: bounds.upper };
  }
  const orders = options.orders ?? DEFAULT_RDP_ORDERS;
  validateOrders(orders);
  // Nothing run: (0, 0)-DP. The conversion below would give a loose positive bound.
  if (history.length === 0) return { epsilon: 0, accountant };
  const total = new Float64Array(orders.length);
  for (const mechanism of history) {
    const rdp = computeRdp(mechanism, orders);
    for (let k = 0; k < total.length; k++) total[k]! += rdp[k]!;
  }
  const { epsilon, order } = rdpToEpsilon(orders, total, delta);
  return { epsilon, accountant, order };
}
