import { PrivacyError } from "./privacy-error.js";
import { requireInteger, requireNumber } from "./internal/validate.js";

/** The accountants this package implements: Rényi DP (Mironov 2017) and PRV (Gopi et al. 2021). */
export type AccountantName = "rdp" | "prv";

/** Both accountant names, for validating user input. */
export const ACCOUNTANT_NAMES: readonly AccountantName[] = Object.freeze(["rdp", "prv"]);

/**
 * One run of the Poisson-subsampled Gaussian mechanism: `steps` releases, each of a sum
 * over a Poisson sample (every record in with probability `sampleRate`) of contributions
 * clipped to L2 norm C, plus Gaussian noise of standard deviation `noiseMultiplier * C`.
 *
 * DP-SGD is this mechanism; so is a noised count or sum released `steps` times
 * (`sampleRate` 1).
 */
export interface Mechanism {
  /** sigma: noise standard deviation over sensitivity, in (0, 1e12]. */
  readonly noiseMultiplier: number;
  /** q: Poisson sampling probability of each record, in (0, 1]. */
  readonly sampleRate: number;
  /** Number of releases, an integer in [0, 2^53 - 1]. */
  readonly steps: number;
}

/** Largest noise multiplier accepted; far past any useful value, it keeps arithmetic finite. */
export const MAX_NOISE_MULTIPLIER = 1e12;

/** Checks one mechanism; `name` prefixes the parameter names in messages. */
export function validateMechanism(mechanism: unknown, name = "mechanism"): Mechanism {
  if (typeof mechanism !== "object" || mechanism === null) {
    throw new PrivacyError("invalid-argument", `${name} must be an object { noiseMultiplier, sampleRate, steps }`);
  }
  const m = mechanism as Record<string, unknown>;
  return {
    noiseMultiplier: requireNumber(`${name}.noiseMultiplier`, m["noiseMultiplier"], {
      min: 0,
      max: MAX_NOISE_MULTIPLIER,
      minExclusive: true,
    }),
    sampleRate: requireNumber(`${name}.sampleRate`, m["sampleRate"], { min: 0, max: 1, minExclusive: true }),
    steps: requireInteger(`${name}.steps`, m["steps"], 0),
  };
}

/**
 * Validates a history and merges mechanisms with the same (sigma, q): composition is
 * additive in RDP and a self-convolution in PRV, so (sigma, q, a) then (sigma, q, b) is
 * exactly (sigma, q, a + b). Mechanisms of zero steps are dropped.
 */
export function normalizeHistory(history: unknown): Mechanism[] {
  if (!Array.isArray(history)) {
    throw new PrivacyError("invalid-argument", "history must be an array of mechanisms { noiseMultiplier, sampleRate, steps }");
  }
  const merged = new Map<string, { noiseMultiplier: number; sampleRate: number; steps: number }>();
  history.forEach((item, index) => {
    const m = validateMechanism(item, `history[${index}]`);
    if (m.steps === 0) return;
    const key = `${m.noiseMultiplier}/${m.sampleRate}`;
    const seen = merged.get(key);
    if (seen === undefined) merged.set(key, { ...m });
    else seen.steps += m.steps;
  });
  for (const m of merged.values()) {
    if (!Number.isSafeInteger(m.steps)) {
      throw new PrivacyError("invalid-argument", `history: total steps of one (noiseMultiplier, sampleRate) pair must stay below 2^53, got ${m.steps}`);
    }
  }
  return [...merged.values()];
}

/** Checks an accountant name (default `"rdp"`). */
export function resolveAccountant(accountant: unknown): AccountantName {
  if (accountant === undefined) return "rdp";
  if (accountant === "rdp" || accountant === "prv") return accountant;
  throw new PrivacyError("invalid-argument", `accountant must be "rdp" or "prv", got ${String(accountant)}`);
}
