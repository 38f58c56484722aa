import { TrainerError } from "../trainer-error.js";
import type { OptimizerConfig } from "./optimizer.js";
import type { PrivacyOptions, TrainerOptions, TrainingLoss } from "./training-types.js";

/** {@link TrainerOptions} with defaults filled in and every range checked. */
export interface ResolvedTrainerOptions {
  readonly model: Uint8Array;
  readonly loss: TrainingLoss;
  readonly output: string | undefined;
  readonly frozen: readonly string[] | undefined;
  readonly train: TrainerOptions["train"];
  readonly privacy: PrivacyOptions;
  readonly optimizer: OptimizerConfig;
  readonly batchSize: number;
  readonly maxBatchSize: number;
  readonly seed: number | string | undefined;
  readonly insecureReproducibleNoise: boolean;
  readonly intraOpThreads: number;
  readonly nchwcBlockSize: number | "off" | undefined;
}

const LOSSES: readonly TrainingLoss[] = ["cross_entropy", "mse", "bce_with_logits"];

function blockSize(v: unknown): number {
  if (typeof v === "number" && [4, 8, 16, 32, 64].includes(v)) return v;
  return invalid(`nchwcBlockSize must be "off" or a power of two from 4 to 64 (leave it out to use this machine's); got ${String(v)}`);
}

function invalid(message: string): never {
  throw new TrainerError("invalid-argument", message);
}

function positive(name: string, v: unknown, opts: { integer?: boolean; min?: number; max?: number; exclusiveMin?: boolean } = {}): number {
  const min = opts.min ?? 0;
  const ok = typeof v === "number" && Number.isFinite(v) && (opts.exclusiveMin ? v > min : v >= min) && (opts.max === undefined || v <= opts.max) && (!opts.integer || Number.isInteger(v));
  if (!ok) {
    const range = `${opts.exclusiveMin ? "(" : "["}${min}, ${opts.max ?? "inf"}${opts.max === undefined ? ")" : "]"}`;
    invalid(`${name} must be ${opts.integer ? "an integer" : "a number"} in ${range}, got ${String(v)}`);
  }
  return v as number;
}

/** Checks every option (message names the option and its range) and resolves defaults. */
export function validateTrainerOptions(o: TrainerOptions): ResolvedTrainerOptions {
  if (!(o.model instanceof Uint8Array) || o.model.length === 0) invalid("model must be the ONNX model's bytes (a non-empty Uint8Array)");
  if (!LOSSES.includes(o.loss)) invalid(`loss must be one of ${LOSSES.join(", ")}, got ${String(o.loss)}`);
  const batchSize = positive("batchSize", o.batchSize, { integer: true, min: 1 });
  const maxBatchSize = o.maxBatchSize === undefined ? 256 : positive("maxBatchSize", o.maxBatchSize, { integer: true, min: 1 });
  const p = o.privacy;
  let privacy: PrivacyOptions;
  if (p?.mode === "non-private") {
    privacy = { mode: "non-private" };
  } else if (p?.mode === "dp") {
    const maxGradNorm = positive("maxGradNorm", p.maxGradNorm, { min: 0, exclusiveMin: true });
    const accountant = p.accountant ?? "rdp";
    if (accountant !== "rdp" && accountant !== "prv") invalid(`accountant must be rdp or prv, got ${String(accountant)}`);
    if ("targetEpsilon" in p) {
      privacy = {
        mode: "dp", maxGradNorm, accountant,
        targetEpsilon: positive("targetEpsilon", p.targetEpsilon, { min: 0, exclusiveMin: true }),
        delta: positive("delta", p.delta, { min: 0, max: 1, exclusiveMin: true }),
      };
      if (privacy.delta >= 1) invalid(`delta must be in (0, 1), got ${privacy.delta}`);
    } else {
      const delta = p.delta === undefined ? 1e-5 : positive("delta", p.delta, { min: 0, max: 1, exclusiveMin: true });
      if (delta >= 1) invalid(`delta must be in (0, 1), got ${delta}`);
      privacy = { mode: "dp", maxGradNorm, accountant, delta, noiseMultiplier: positive("noiseMultiplier", p.noiseMultiplier, { min: 0, max: 1e12 }) };
    }
  } else {
    invalid(`privacy.mode must be "dp" or "non-private", got ${String((p as { mode?: unknown } | undefined)?.mode)}`);
  }
  if (o.insecureReproducibleNoise === true && o.seed === undefined) invalid("insecureReproducibleNoise needs a seed");
  if (o.seed !== undefined && typeof o.seed !== "string" && !(typeof o.seed === "number" && Number.isFinite(o.seed))) {
    invalid(`seed must be a finite number or a string, got ${String(o.seed)}`);
  }
  return {
    model: o.model,
    loss: o.loss,
    output: o.output,
    frozen: o.frozen,
    train: o.train,
    privacy,
    optimizer: o.optimizer,
    batchSize,
    maxBatchSize,
    seed: o.seed,
    insecureReproducibleNoise: o.insecureReproducibleNoise === true,
    intraOpThreads: o.intraOpThreads === undefined ? 1 : positive("intraOpThreads", o.intraOpThreads, { integer: true, min: 1, max: 256 }),
    nchwcBlockSize: o.nchwcBlockSize === undefined || o.nchwcBlockSize === "off" ? o.nchwcBlockSize : blockSize(o.nchwcBlockSize),
  };
}
