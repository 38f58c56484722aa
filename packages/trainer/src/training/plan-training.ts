import { calibrateNoiseMultiplier, computeEpsilon } from "@sanctum/privacy";
import { TrainerError } from "../trainer-error.js";
import { stepsPerEpoch } from "./poisson-sampler.js";
import type { MechanismRecord, PrivacyOptions, TrainingPlan } from "./training-types.js";

/** Options of {@link planTraining}. */
export interface PlanTrainingOptions {
  /** Records in the training set, integer >= 1. */
  readonly datasetSize: number;
  /** Logical batch size (expected size under Poisson sampling), integer in [1, datasetSize]. */
  readonly batchSize: number;
  /** Epochs, integer >= 1. */
  readonly epochs: number;
  readonly privacy: PrivacyOptions;
}

/**
 * What a run will do, before it runs: sampling rate q = batchSize / N, steps = epochs *
 * round(1 / q), and sigma (given, or calibrated by @sanctum/privacy for the target epsilon).
 * A server reserves exactly this mechanism on each dataset's ledger before the first step.
 */
export function planTraining(options: PlanTrainingOptions): TrainingPlan {
  const { datasetSize: n, batchSize, epochs, privacy } = options;
  if (!Number.isInteger(n) || n < 1) throw new TrainerError("invalid-argument", `datasetSize must be an integer >= 1, got ${n}`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > n) {
    throw new TrainerError("invalid-argument", `batchSize must be an integer in [1, ${n}] (the dataset size), got ${batchSize}`);
  }
  if (!Number.isInteger(epochs) || epochs < 1 || epochs > 1e6) throw new TrainerError("invalid-argument", `epochs must be an integer in [1, 1000000], got ${epochs}`);
  const sampleRate = batchSize / n;
  if (privacy.mode === "non-private") {
    const perEpoch = Math.ceil(n / batchSize);
    return { mode: "non-private", sampleRate, stepsPerEpoch: perEpoch, steps: epochs * perEpoch, noiseMultiplier: 0 };
  }
  const perEpoch = stepsPerEpoch(sampleRate);
  const steps = epochs * perEpoch;
  const accountant = privacy.accountant ?? "rdp";
  if ("targetEpsilon" in privacy) {
    // Opacus' calibration semantics: the smallest sigma (within 1 %) whose epsilon is at most the target.
    const { noiseMultiplier, epsilon } = wrap(() => calibrateNoiseMultiplier({ targetEpsilon: privacy.targetEpsilon, delta: privacy.delta, sampleRate, steps, accountant }));
    return { mode: "dp", sampleRate, stepsPerEpoch: perEpoch, steps, noiseMultiplier, epsilon, delta: privacy.delta };
  }
  const delta = privacy.delta ?? 1e-5;
  const plan = { mode: "dp" as const, sampleRate, stepsPerEpoch: perEpoch, steps, noiseMultiplier: privacy.noiseMultiplier, delta };
  return privacy.noiseMultiplier > 0 ? { ...plan, epsilon: epsilonOf([{ noiseMultiplier: privacy.noiseMultiplier, sampleRate, steps }], delta, accountant) } : { ...plan, epsilon: Infinity };
}

/** Epsilon of a composition of mechanisms (Infinity when any has sigma 0). */
export function epsilonOf(history: readonly MechanismRecord[], delta: number, accountant: "rdp" | "prv"): number {
  const ran = history.filter((m) => m.steps > 0);
  if (ran.some((m) => m.noiseMultiplier === 0)) return Infinity;
  if (ran.length === 0) return 0;
  return wrap(() => computeEpsilon({ history: ran, delta, accountant }).epsilon);
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (cause) {
    throw new TrainerError("invalid-argument", `privacy accounting failed: ${(cause as Error).message}`, { cause });
  }
}
