import { PrivacyError } from "./privacy-error.js";
import { normalizeHistory, resolveAccountant } from "./mechanism.js";
import type { AccountantName, Mechanism } from "./mechanism.js";
import { createEpsilonClassifier } from "./internal/epsilon-classifier.js";
import { requireDelta, requireInteger, requireNumber } from "./internal/validate.js";

/** Options of {@link calibrateNoiseMultiplier}. Give exactly one of `steps` and `epochs`. */
export interface CalibrateNoiseMultiplierOptions {
  /** Epsilon to meet, in (0, 1e6]. */
  readonly targetEpsilon: number;
  /** delta, in (0, 1). */
  readonly delta: number;
  /** Poisson sampling rate q, in (0, 1]. */
  readonly sampleRate: number;
  /** Number of steps, an integer >= 1. */
  readonly steps?: number;
  /** Number of epochs, > 0; steps = floor(epochs / sampleRate) as in Opacus. */
  readonly epochs?: number;
  /** Accountant; default `"rdp"`. */
  readonly accountant?: AccountantName;
  /** Stop once the achieved epsilon is within this of the target, in (0, 1]; default 0.01. */
  readonly epsilonTolerance?: number;
  /** PRV: epsilon and delta errors, as {@link computeEpsilon}. */
  readonly epsError?: number;
  readonly deltaError?: number;
  /**
   * Mechanisms already charged (for example `ledger.history`): the target then bounds
   * their composition with the new run, so a run can be fitted into what a budget has left.
   * Default none.
   */
  readonly priorHistory?: readonly Mechanism[];
}

/** The calibrated noise multiplier, the epsilon it achieves (<= target) and the steps used. */
export interface CalibrationResult {
  readonly noiseMultiplier: number;
  readonly epsilon: number;
  readonly steps: number;
}

/** Opacus's MAX_SIGMA: past this the budget is considered unreachable. */
const MAX_SIGMA = 1e6;

/**
 * The smallest noise multiplier (to within `epsilonTolerance` in epsilon) whose epsilon is
 * at most `targetEpsilon`, by Opacus's `get_noise_multiplier` search: double sigma from 20
 * until the target is met, then bisect on [0, sigma] until the achieved epsilon is within
 * the tolerance below the target. The result always meets the target.
 *
 * @throws PrivacyError `budget-unreachable` when even sigma = 1e6 exceeds the target.
 */
export function calibrateNoiseMultiplier(options: CalibrateNoiseMultiplierOptions): CalibrationResult {
  const targetEpsilon = requireNumber("targetEpsilon", options.targetEpsilon, { min: 0, max: 1e6, minExclusive: true });
  const delta = requireDelta("delta", options.delta);
  const sampleRate = requireNumber("sampleRate", options.sampleRate, { min: 0, max: 1, minExclusive: true });
  const accountant = resolveAccountant(options.accountant);
  const tolerance = requireNumber("epsilonTolerance", options.epsilonTolerance ?? 0.01, { min: 0, max: 1, minExclusive: true });
  if ((options.steps === undefined) === (options.epochs === undefined)) {
    throw new PrivacyError("invalid-argument", "give exactly one of steps (an integer >= 1) and epochs (a number > 0)");
  }
  let steps: number;
  if (options.steps !== undefined) {
    steps = requireInteger("steps", options.steps, 1);
  } else {
    const epochs = requireNumber("epochs", options.epochs, { min: 0, minExclusive: true });
    steps = Math.floor(epochs / sampleRate);
    if (!Number.isSafeInteger(steps) || steps < 1) {
      throw new PrivacyError("invalid-argument", `epochs / sampleRate must give an integer number of steps in [1, 2^53 - 1], got ${epochs / sampleRate}`);
    }
  }
  const prior = normalizeHistory(options.priorHistory ?? []);
  const classify = createEpsilonClassifier({
    accountant,
    delta,
    targetEpsilon,
    tolerance,
    historyFor: (noiseMultiplier) => normalizeHistory([...prior, { noiseMultiplier, sampleRate, steps }]),
    ...(options.epsError === undefined ? {} : { epsError: options.epsError }),
    ...(options.deltaError === undefined ? {} : { deltaError: options.deltaError }),
  });

  // Opacus's search. `epsHigh` is NaN while only known to be more than `tolerance` below
  // the target (see createEpsilonClassifier); every comparison below then takes the branch
  // the exact value would.
  let sigmaLow = 0;
  let sigmaHigh = 10;
  let epsHigh = Infinity;
  while (epsHigh > targetEpsilon) {
    sigmaHigh *= 2;
    if (sigmaHigh > MAX_SIGMA) {
      throw new PrivacyError(
        "budget-unreachable",
        `no noise multiplier up to ${MAX_SIGMA} reaches epsilon ${targetEpsilon} at delta ${delta} with sampleRate ${sampleRate} and ${steps} steps${prior.length > 0 ? " on top of the prior history" : ""}; raise the target epsilon or lower the steps or sample rate`,
      );
    }
    epsHigh = classify(sigmaHigh);
  }
  while (Number.isNaN(epsHigh) || targetEpsilon - epsHigh > tolerance) {
    const sigma = (sigmaLow + sigmaHigh) / 2;
    const eps = classify(sigma);
    if (Number.isNaN(eps) || eps < targetEpsilon) {
      sigmaHigh = sigma;
      epsHigh = eps;
    } else {
      sigmaLow = sigma;
    }
  }
  return { noiseMultiplier: sigmaHigh, epsilon: epsHigh, steps };
}
