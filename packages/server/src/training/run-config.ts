import type { TrainingConfig } from "@sanctum/protocol";
import { validateAccess } from "../models/model-access.js";
import type { ModelAccess } from "../models/model-record.js";
import { validateModelName } from "../models/model-name.js";
import { ServerError } from "../server-error.js";

/** Losses the trainer knows. */
export type LossName = "cross_entropy" | "mse" | "bce_with_logits";

/** The optimizer of a run, defaults applied. */
export interface OptimizerSettings {
  readonly kind: "sgd" | "adam" | "adamw";
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

/** A start request, checked and with every default applied. */
export interface RunConfig {
  readonly datasets: readonly string[];
  readonly evalDataset?: string;
  readonly loss: LossName;
  readonly epochs: number;
  readonly epsilon: number;
  readonly batchSize: number;
  /** 0 = min(batchSize, 256), resolved once N is known. */
  readonly maxBatchSize: number;
  readonly maxGradNorm: number;
  readonly optimizer: OptimizerSettings;
  readonly output?: string;
  readonly frozen: readonly string[];
  /** Share of epsilon for the noised metrics, in [0, 0.5]; 0 disables them. */
  readonly metricsShare: number;
  readonly deploy?: { readonly name: string; readonly access: ModelAccess };
  /** The caller will download the weights: refuse up front if a dataset keeps them in the TEE. */
  readonly releaseWeights: boolean;
}

/** Most datasets one run may use. */
export const MAX_RUN_DATASETS = 16;
const LOSSES: readonly LossName[] = ["cross_entropy", "mse", "bce_with_logits"];

function bad(message: string): never {
  throw new ServerError("invalid-argument", message);
}

/** Checks a training config from the wire; messages name the field and its range. */
export function resolveRunConfig(c: TrainingConfig, caller: string): RunConfig {
  if (c.datasets.length === 0) bad("datasets: give at least one dataset id (--dataset ID[,ID...])");
  if (c.datasets.length > MAX_RUN_DATASETS) bad(`datasets: at most ${MAX_RUN_DATASETS} per run, got ${c.datasets.length}`);
  if (new Set(c.datasets).size !== c.datasets.length) bad("datasets: each dataset may appear once");
  if (c.evalDataset !== "" && c.datasets.includes(c.evalDataset)) bad("eval_dataset must not be one of the training datasets");
  if (!(LOSSES as readonly string[]).includes(c.loss)) bad(`loss must be one of ${LOSSES.join(", ")}, got ${JSON.stringify(c.loss.slice(0, 40))}`);
  if (!Number.isInteger(c.epochs) || c.epochs < 1 || c.epochs > 10_000) bad(`epochs must be an integer in [1, 10000], got ${c.epochs}`);
  if (!Number.isFinite(c.epsilon) || c.epsilon <= 0 || c.epsilon > 100) bad(`epsilon must be a number in (0, 100], got ${c.epsilon}`);
  const batchSize = Number(c.batchSize);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) bad(`batch_size must be an integer >= 1, got ${c.batchSize}`);
  const maxBatchSize = Number(c.maxBatchSize);
  if (!Number.isSafeInteger(maxBatchSize) || maxBatchSize < 0 || maxBatchSize > 65_536) bad(`max_batch_size must be an integer in [1, 65536] (0 = default), got ${c.maxBatchSize}`);
  const maxGradNorm = c.maxGradNorm === 0 ? 1 : c.maxGradNorm;
  if (!Number.isFinite(maxGradNorm) || maxGradNorm <= 0 || maxGradNorm > 1e6) bad(`max_grad_norm must be in (0, 1e6], got ${c.maxGradNorm}`);
  const kind = c.optimizer === "" ? "sgd" : c.optimizer;
  if (kind !== "sgd" && kind !== "adam" && kind !== "adamw") bad(`optimizer must be sgd, adam or adamw, got ${JSON.stringify(c.optimizer.slice(0, 40))}`);
  const lr = c.learningRate === 0 ? (kind === "sgd" ? 0.1 : 0.001) : c.learningRate;
  if (!Number.isFinite(lr) || lr <= 0 || lr > 100) bad(`learning_rate must be in (0, 100], got ${c.learningRate}`);
  if (!Number.isFinite(c.momentum) || c.momentum < 0 || c.momentum >= 1) bad(`momentum must be in [0, 1), got ${c.momentum}`);
  if (kind !== "sgd" && c.momentum !== 0) bad("momentum applies to sgd only; adam and adamw have their own moments");
  if (!Number.isFinite(c.weightDecay) || c.weightDecay < 0 || c.weightDecay > 10) bad(`weight_decay must be in [0, 10], got ${c.weightDecay}`);
  const metricsShare = c.metricsShare < 0 ? 0 : c.metricsShare === 0 ? 0.1 : c.metricsShare;
  if (!Number.isFinite(metricsShare) || metricsShare > 0.5) bad(`metrics_share must be in [0, 0.5] (negative disables metrics), got ${c.metricsShare}`);
  if (c.frozen.length > 10_000) bad("frozen: at most 10000 names");
  const deploy = c.deployName === "" ? undefined : { name: validateModelName(c.deployName), access: validateAccess(c.deployAccess, caller) };
  return {
    datasets: [...c.datasets],
    ...(c.evalDataset === "" ? {} : { evalDataset: c.evalDataset }),
    loss: c.loss as LossName,
    epochs: c.epochs,
    epsilon: c.epsilon,
    batchSize,
    maxBatchSize,
    maxGradNorm,
    optimizer: { kind, lr, momentum: c.momentum, weightDecay: c.weightDecay },
    ...(c.output === "" ? {} : { output: c.output }),
    frozen: [...c.frozen],
    metricsShare,
    ...(deploy === undefined ? {} : { deploy }),
    releaseWeights: c.releaseWeights,
  };
}
