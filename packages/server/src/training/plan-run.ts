import { computeEpsilon, DEFAULT_RDP_ORDERS, PrivacyError, type Mechanism } from "@sanctum/privacy";
import { planTraining } from "@sanctum/trainer";
import { ServerError } from "../server-error.js";
import type { RunPrivacy } from "./run-record.js";

/** Expected records in one metrics release: larger datasets are Poisson-subsampled down to it. */
export const METRICS_SAMPLE_SIZE = 4096;

/** RDP orders used to size the metrics' noise: Opacus' defaults and larger ones. */
const METRICS_ORDERS: readonly number[] = [...DEFAULT_RDP_ORDERS, 80, 96, 128, 192, 256, 384, 512, 768, 1024, 2048];

/** Default clip of each per-sample loss in the released metrics (a loss of 5 is a 0.7 % probability on the true class). */
export const DEFAULT_LOSS_CLIP = 5;

/** What {@link planRun} needs. */
export interface PlanRunInput {
  /** Records of the training union. */
  readonly trainRows: number;
  readonly batchSize: number;
  readonly epochs: number;
  /** Target epsilon of the run. */
  readonly epsilon: number;
  /** The smallest delta of the training datasets (the most demanding). */
  readonly delta: number;
  readonly maxGradNorm: number;
  /** Share of epsilon for metrics, in [0, 0.5]; 0 = none. */
  readonly metricsShare: number;
  /** Where metrics come from; `eval` charges the eval dataset only. */
  readonly metricsOn: "train" | "eval";
  readonly evalRows?: number;
  readonly evalDelta?: number;
  /** Whether the loss has an accuracy (classification). */
  readonly hasAccuracy: boolean;
  readonly lossClip?: number;
}

/** The mechanisms a run reserves, and what it reports. */
export interface RunPlan {
  readonly privacy: RunPrivacy;
  /** DP-SGD, charged to every training dataset. */
  readonly training: Mechanism;
  /** The noised metrics, charged to the training datasets or the eval dataset; undefined when off. */
  readonly metrics?: Mechanism;
}

/**
 * Plans a run: q = batch / N and steps = epochs x round(1 / q) exactly as the trainer runs
 * them; the metrics' noise calibrated so that their releases alone cost `metricsShare x epsilon`
 * (RDP); and the training sigma calibrated so that the composition of training and the
 * metrics on the same data meets `epsilon` at `delta`. Accounting is exact composition, never
 * a split sum: the metrics' share is what they would cost alone.
 */
export function planRun(input: PlanRunInput): RunPlan {
  const { epochs } = input;
  const shape = wrap(() => planTraining({ datasetSize: input.trainRows, batchSize: input.batchSize, epochs, privacy: { mode: "dp", maxGradNorm: input.maxGradNorm, noiseMultiplier: 1 } }));
  const sensitivity = input.hasAccuracy ? Math.SQRT2 : 1;
  let metrics: Mechanism | undefined;
  if (input.metricsShare > 0) {
    const rows = input.metricsOn === "eval" ? input.evalRows! : input.trainRows;
    const delta = input.metricsOn === "eval" ? input.evalDelta! : input.delta;
    const sampleRate = Math.min(1, METRICS_SAMPLE_SIZE / rows);
    // Sized with more RDP orders than the ledger's (Opacus') defaults: a small share such as
    // 0.1 is below what orders <= 63 can certify at delta 1e-5 (log(1/delta) / 62 ~ 0.19),
    // yet the mechanism costs about that much in the composition. The ledger then accounts
    // it exactly, with its own orders.
    const metricsEpsilonOf = (sigma: number) =>
      wrap(() => computeEpsilon({ history: [{ noiseMultiplier: sigma, sampleRate, steps: epochs }], delta, orders: METRICS_ORDERS }).epsilon);
    metrics = { noiseMultiplier: calibrateJointly(metricsEpsilonOf, input.metricsShare * input.epsilon), sampleRate, steps: epochs };
  }
  const sameData = metrics !== undefined && input.metricsOn === "train" ? [metrics] : [];
  const epsilonOf = (sigma: number) =>
    wrap(() => computeEpsilon({ history: [{ noiseMultiplier: sigma, sampleRate: shape.sampleRate, steps: shape.steps }, ...sameData], delta: input.delta }).epsilon);
  const noiseMultiplier = calibrateJointly(epsilonOf, input.epsilon);
  return {
    training: { noiseMultiplier, sampleRate: shape.sampleRate, steps: shape.steps },
    ...(metrics === undefined ? {} : { metrics }),
    privacy: {
      epsilon: epsilonOf(noiseMultiplier),
      delta: input.delta,
      accountant: "rdp",
      noiseMultiplier,
      sampleRate: shape.sampleRate,
      steps: shape.steps,
      stepsPerEpoch: shape.stepsPerEpoch,
      maxGradNorm: input.maxGradNorm,
      metricsNoiseMultiplier: metrics?.noiseMultiplier ?? 0,
      metricsSampleRate: metrics?.sampleRate ?? 0,
      metricsReleases: metrics?.steps ?? 0,
      lossClip: input.lossClip ?? DEFAULT_LOSS_CLIP,
      metricsSensitivity: sensitivity,
    },
  };
}

/**
 * The smallest sigma (to 0.01 in epsilon, as Opacus' get_noise_multiplier) with
 * epsilonOf(sigma) <= target: doubling, then bisection; the result always meets the target.
 */
function calibrateJointly(epsilonOf: (sigma: number) => number, target: number): number {
  let low = 0;
  let high = 1;
  while (epsilonOf(high) > target) {
    low = high;
    high *= 2;
    if (high > 1e6) {
      throw new ServerError("invalid-argument", `epsilon ${target} cannot be met even with noise multiplier 1e6: ask for a larger epsilon, fewer epochs or a smaller batch`);
    }
  }
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    const eps = epsilonOf(mid);
    if (eps <= target) {
      high = mid;
      if (target - eps < 0.01) break;
    } else {
      low = mid;
    }
  }
  return high;
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof PrivacyError || (err as { name?: string }).name === "TrainerError") {
      throw new ServerError("invalid-argument", `cannot plan the run: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
}
