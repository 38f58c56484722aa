import { ClientError } from "./client-error.js";
import type { ModelInfo } from "./model-info.js";
import type { AccessOption } from "./models-api.js";
import type { LossName, OptimizerOption, TrainingApi } from "./training-api.js";
import type { TrainingEvent, TrainingRun } from "./training-types.js";

/** Options of `client.remoteLearner(...)`: what is trained on what, fixed for every fit. */
export interface RemoteLearnerOptions {
  /** The ONNX model (bytes or a file path), a training-mode PyTorch export. */
  readonly model: Uint8Array | string;
  /** Dataset ids (their union is trained on); you must be a listed trainer of each. */
  readonly datasets: readonly string[];
  readonly loss: LossName;
  /** Default "sgd" (learning rate 0.1). */
  readonly optimizer?: OptimizerOption;
  /** Largest physical batch; default min(batchSize, 256). */
  readonly maxBatchSize?: number;
  /** Expected logical batch size; default 64 (at most the dataset size). */
  readonly batchSize?: number;
  /** Clipping norm; default 1. */
  readonly maxGradNorm?: number;
  /** Report noised metrics on this dataset instead of the training data. */
  readonly evalDataset?: string;
  /**
   * You will call getModel(): each fit is refused before it spends budget if a dataset's
   * policy keeps the weights inside the TEE. Default false (deploy() works either way).
   */
  readonly releaseWeights?: boolean;
}

/** Options of {@link RemoteLearner.fit}. */
export interface FitOptions {
  readonly epochs: number;
  /** Target epsilon of this fit (training and noised metrics together). */
  readonly epsilon: number;
  /** Overrides the learner's batch size for this fit. */
  readonly batchSize?: number;
  /** Share of epsilon for the noised metrics; default 0.1; 0 turns them off. */
  readonly metricsShare?: number;
  /** Progress, noised epoch metrics, and the final run. */
  readonly onProgress?: (event: TrainingEvent) => void;
  readonly signal?: AbortSignal;
}

/**
 * A model trained remotely with DP-SGD, with the ergonomics of BastionAI's RemoteLearner:
 * `fit` trains inside the TEE on datasets you never see; `getModel` downloads the weights
 * when the datasets' owners allow it; `deploy` serves the model for confidential inference
 * without the weights ever leaving the TEE.
 * @example
 * const learner = client.remoteLearner({ model: "mlp.onnx", datasets: [id], loss: "cross_entropy" });
 * const run = await learner.fit({ epochs: 10, epsilon: 1, onProgress: (e) => console.log(e) });
 * const model = await learner.deploy("mlp-dp");
 */
export interface RemoteLearner {
  /** Trains; resolves with the final run (throws when it failed or was cancelled). */
  fit(options: FitOptions): Promise<TrainingRun>;
  /** The last successful fit's trained ONNX model (refused unless every dataset's policy lets you have it). */
  getModel(): Promise<Uint8Array>;
  /** Deploys the last successful fit's model under `name`; by default only you may query it. */
  deploy(name: string, options?: { readonly access?: AccessOption }): Promise<ModelInfo>;
  /** The last run, if any. */
  readonly run: TrainingRun | undefined;
}

/** Makes a learner over the training API. */
export function createRemoteLearner(training: TrainingApi, options: RemoteLearnerOptions): RemoteLearner {
  if (options === undefined || !Array.isArray(options.datasets) || options.datasets.length === 0) {
    throw new ClientError("invalid-argument", "remoteLearner: datasets must list at least one dataset id");
  }
  let last: TrainingRun | undefined;
  const succeeded = (): TrainingRun => {
    if (last === undefined || last.status !== "succeeded") throw new ClientError("failed-precondition", "no successful fit yet: call fit() first");
    return last;
  };
  return {
    get run() {
      return last;
    },
    async fit(fit) {
      const started = await training.start({
        model: options.model,
        datasets: options.datasets,
        loss: options.loss,
        epochs: fit.epochs,
        epsilon: fit.epsilon,
        batchSize: fit.batchSize ?? options.batchSize ?? 64,
        ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
        ...(options.maxGradNorm === undefined ? {} : { maxGradNorm: options.maxGradNorm }),
        ...(options.optimizer === undefined ? {} : { optimizer: options.optimizer }),
        ...(options.evalDataset === undefined ? {} : { evalDataset: options.evalDataset }),
        ...(fit.metricsShare === undefined ? {} : { metricsShare: fit.metricsShare }),
        ...(options.releaseWeights === true ? { releaseWeights: true } : {}),
        ...(fit.signal === undefined ? {} : { signal: fit.signal }),
      });
      last = started;
      const onAbort = () => void training.cancel(started.id).catch(() => undefined);
      fit.signal?.addEventListener("abort", onAbort);
      try {
        last = await training.watch(started.id, fit.onProgress);
      } finally {
        fit.signal?.removeEventListener("abort", onAbort);
      }
      if (last.status !== "succeeded") {
        throw new ClientError(last.status === "cancelled" ? "cancelled" : "server-error", `training run ${last.id} ${last.status}: ${last.error ?? "no reason given"}`);
      }
      return last;
    },
    async getModel() {
      return training.downloadWeights(succeeded().id);
    },
    async deploy(name, deployOptions) {
      const model = await training.deploy(succeeded().id, name, deployOptions);
      last = { ...last!, modelId: model.id };
      return model;
    },
  };
}
