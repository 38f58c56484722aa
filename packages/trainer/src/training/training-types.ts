import type { TrainingDataset } from "./dataset.js";
import type { TrainerKernels } from "./kernel-check.js";
import type { OptimizerConfig } from "./optimizer.js";

/** Loss functions by name (per-sample; see buildTrainingGraph). */
export type TrainingLoss = "cross_entropy" | "mse" | "bce_with_logits";

/** Privacy accountant used to calibrate and report epsilon (see @sanctum/privacy). */
export type AccountantName = "rdp" | "prv";

/**
 * How private the run is; a discriminated union on `mode`.
 * - `dp` with `noiseMultiplier`: sigma given; epsilon is reported.
 * - `dp` with `targetEpsilon` and `delta`: sigma calibrated so the whole fit spends at most
 *   (targetEpsilon, delta).
 * - `non-private`: no clipping, no noise (shuffled fixed batches, mean gradients).
 */
export type PrivacyOptions =
  | {
      readonly mode: "dp";
      /** Clipping norm C of each per-sample gradient, > 0. */
      readonly maxGradNorm: number;
      /** sigma: noise std is sigma * C on the summed clipped gradients; >= 0. */
      readonly noiseMultiplier: number;
      /** delta for reporting epsilon, in (0, 1); default 1e-5. */
      readonly delta?: number;
      /** Default "rdp". */
      readonly accountant?: AccountantName;
    }
  | {
      readonly mode: "dp";
      readonly maxGradNorm: number;
      /** Target epsilon of one fit, > 0. */
      readonly targetEpsilon: number;
      /** Target delta, in (0, 1). */
      readonly delta: number;
      readonly accountant?: AccountantName;
    }
  | { readonly mode: "non-private" };

/** Options of {@link createTrainer}. The caller's objects are never mutated. */
export interface TrainerOptions {
  /** The ONNX inference model (PyTorch export in training mode, see issue 5), bytes. */
  readonly model: Uint8Array;
  readonly loss: TrainingLoss;
  /** Model output the loss applies to; default the first output. */
  readonly output?: string;
  /** Initializer names or name prefixes to keep fixed; default none. */
  readonly frozen?: readonly string[];
  /** Training data in memory (one array per model input plus `labels`). */
  readonly train: TrainingDataset;
  readonly privacy: PrivacyOptions;
  readonly optimizer: OptimizerConfig;
  /**
   * Logical batch size. DP: the expected size of each Poisson sample, so the sampling rate is
   * q = batchSize / N and an epoch is round(1 / q) steps. Non-private: the fixed batch size.
   * Integer in [1, N].
   */
  readonly batchSize: number;
  /**
   * Largest physical batch fed to onnxruntime (a memory bound), integer >= 1; default 256.
   * A logical batch runs as physical batches of one fixed shape <= this, padded and masked.
   */
  readonly maxBatchSize?: number;
  /**
   * Makes Poisson sampling / shuffling reproducible (experiments). Never makes the DP noise
   * reproducible: that stays on the OS CSPRNG unless `insecureReproducibleNoise` is set.
   */
  readonly seed?: number | string;
  /**
   * Derive the DP noise from `seed` too. Anyone knowing the seed can then subtract the noise,
   * which voids the privacy guarantee: for tests only. Default false; needs `seed`.
   */
  readonly insecureReproducibleNoise?: boolean;
  /** onnxruntime intra-op threads; default 1 (the server runs several jobs side by side). */
  readonly intraOpThreads?: number;
  /**
   * The NCHWc channel block the training graph's convolutions are lowered to; default this
   * machine's (`detectNchwcBlockSize()`). "off" runs the portable graph. Either way a lowered
   * graph is checked once against the portable one at start-up and set aside if they disagree
   * (see {@link Trainer.kernels}); a number is for diagnosis.
   */
  readonly nchwcBlockSize?: number | "off";
}

/** Options of {@link Trainer.fit}. */
export interface FitOptions {
  /** Number of epochs, integer >= 1. */
  readonly epochs: number;
  /** Evaluated after each epoch (test loss and accuracy in the metrics). */
  readonly test?: TrainingDataset;
  /** Called on the caller's thread after each logical step and each epoch. */
  readonly onProgress?: (event: TrainingProgress) => void;
  /** Aborting stops the run after the current logical step; fit then resolves with `cancelled: true`. */
  readonly signal?: AbortSignal;
}

/** Metrics of one epoch. Train metrics are averaged over the records seen in the epoch's steps. */
export interface EpochMetrics {
  readonly epoch: number;
  readonly trainLoss: number;
  /** Classification losses only (cross_entropy, bce_with_logits). */
  readonly trainAccuracy?: number;
  readonly testLoss?: number;
  readonly testAccuracy?: number;
  readonly durationMs: number;
}

/** A progress event: one per logical step, one per epoch. */
export type TrainingProgress =
  | { readonly kind: "step"; readonly epoch: number; readonly step: number; readonly totalSteps: number; readonly loss: number }
  | { readonly kind: "epoch"; readonly metrics: EpochMetrics };

/** One Sampled Gaussian Mechanism run, as privacy accountants take it. */
export interface MechanismRecord {
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly steps: number;
}

/** Privacy of everything this trainer ran so far. */
export type PrivacyReport =
  | {
      readonly mode: "dp";
      readonly epsilon: number;
      readonly delta: number;
      readonly accountant: AccountantName;
      readonly noiseMultiplier: number;
      readonly maxGradNorm: number;
      readonly sampleRate: number;
      /** Every fit's mechanism; epsilon is their composition. */
      readonly history: readonly MechanismRecord[];
    }
  | { readonly mode: "non-private" };

/** Result of {@link Trainer.fit}. */
export interface FitResult {
  readonly epochs: readonly EpochMetrics[];
  /** Logical steps taken by this fit (fewer than planned if cancelled). */
  readonly steps: number;
  readonly cancelled: boolean;
  readonly privacy: PrivacyReport;
  readonly durationMs: number;
}

/** Result of {@link Trainer.evaluate}. */
export interface EvaluationResult {
  /** Mean per-sample loss. */
  readonly loss: number;
  /** Classification losses only. */
  readonly accuracy?: number;
  readonly count: number;
}

/** The plan of a fit: what the privacy ledger must reserve before the first step. */
export interface TrainingPlan {
  readonly mode: "dp" | "non-private";
  readonly sampleRate: number;
  readonly stepsPerEpoch: number;
  readonly steps: number;
  /** 0 in non-private mode. */
  readonly noiseMultiplier: number;
  /** Epsilon of this plan alone (dp only). */
  readonly epsilon?: number;
  readonly delta?: number;
}

/**
 * A model being trained, in a worker thread (onnxruntime-node runs synchronously on the
 * calling thread, so the caller's event loop stays free). Methods are serialized.
 */
export interface Trainer {
  /** The trainable parameters (names and shapes), in a stable order. */
  readonly params: readonly { readonly name: string; readonly shape: readonly number[] }[];
  /** Records in the training set. */
  readonly datasetSize: number;
  /** The kernels the training graph runs on (NCHWc convolutions, or the portable graph and why). */
  readonly kernels: TrainerKernels;
  /** What a fit of `epochs` epochs would run (sigma, q, steps), without running it. */
  plan(epochs: number): Promise<TrainingPlan>;
  fit(options: FitOptions): Promise<FitResult>;
  evaluate(dataset: TrainingDataset, options?: { batchSize?: number }): Promise<EvaluationResult>;
  /** The privacy spent so far by every fit of this trainer. */
  privacy(): Promise<PrivacyReport>;
  /** The current parameters by name (copies). */
  parameters(): Promise<Map<string, Float32Array>>;
  /** The original inference model with the trained weights (same inputs and outputs). */
  exportModel(): Promise<Uint8Array>;
  /** Stops the worker; later calls fail with code "cancelled". */
  close(): Promise<void>;
}
