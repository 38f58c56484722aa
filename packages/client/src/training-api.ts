import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { StartTrainingRequestSchema, type StartTrainingRequest, type TrainingService } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";
import { callTrainingRpc } from "./map-training-error.js";
import { modelInfoFromWire, type ModelInfo } from "./model-info.js";
import { UPLOAD_CHUNK_BYTES, type AccessOption } from "./models-api.js";
import { epochMetricsFromWire, trainingRunFromWire, type TrainingEvent, type TrainingRun } from "./training-types.js";

/** Losses the server trains with. */
export type LossName = "cross_entropy" | "mse" | "bce_with_logits";

/** Optimizers the server trains with. */
export type OptimizerName = "sgd" | "adam" | "adamw";

/** An optimizer by name, or with its settings. */
export type OptimizerOption =
  | OptimizerName
  | { readonly kind: OptimizerName; readonly learningRate?: number; readonly momentum?: number; readonly weightDecay?: number };

/** Options of {@link TrainingApi.start}. */
export interface StartTrainingOptions {
  /** The ONNX model (a training-mode PyTorch export), as bytes or a file path. */
  readonly model: Uint8Array | string;
  /** Dataset ids to train on (their union). */
  readonly datasets: readonly string[];
  readonly loss: LossName;
  /** Integer in [1, 10000]. */
  readonly epochs: number;
  /** Target epsilon of the whole run, training and its noised metrics, in (0, 100]. */
  readonly epsilon: number;
  /** Expected logical batch size (sampling rate = batchSize / N). */
  readonly batchSize: number;
  /** Largest physical batch; default min(batchSize, 256). */
  readonly maxBatchSize?: number;
  /** Clipping norm; default 1. */
  readonly maxGradNorm?: number;
  /** Default "sgd" with learning rate 0.1 (adam and adamw: 0.001). */
  readonly optimizer?: OptimizerOption;
  /** Report noised metrics on this dataset (charged to its ledger) instead of the training data. */
  readonly evalDataset?: string;
  /** Share of epsilon spent on the noised metrics, in [0, 0.5]; default 0.1; 0 turns them off. */
  readonly metricsShare?: number;
  /** Deploy the trained model under this name when the run succeeds. */
  readonly deploy?: { readonly name: string; readonly access?: AccessOption };
  /**
   * You mean to download the trained weights: the server refuses the run before spending any
   * budget if a dataset's policy keeps them inside the TEE. Default false.
   */
  readonly releaseWeights?: boolean;
  /** Model output the loss applies to; default the first. */
  readonly output?: string;
  /** Initializer names or prefixes to keep fixed. */
  readonly frozen?: readonly string[];
  readonly signal?: AbortSignal;
}

/** Remote DP training runs. */
export interface TrainingApi {
  /** Sends the model and config; resolves once the server admitted the run (budget reserved). */
  start(options: StartTrainingOptions): Promise<TrainingRun>;
  /** Follows a run until it ends, calling `onEvent` for progress and noised epoch metrics; resolves with the final run. */
  watch(runId: string, onEvent?: (event: TrainingEvent) => void, signal?: AbortSignal): Promise<TrainingRun>;
  get(runId: string): Promise<TrainingRun>;
  /** Your runs, newest first. */
  list(): Promise<TrainingRun[]>;
  /** Stops a run after its current step (the steps run stay charged). */
  cancel(runId: string): Promise<TrainingRun>;
  /** The trained ONNX model, when every dataset's policy lets you have it (checked against its SHA-256). */
  downloadWeights(runId: string): Promise<Uint8Array>;
  /** Deploys a succeeded run's model for confidential inference; the weights stay in the TEE. */
  deploy(runId: string, name: string, options?: { readonly access?: AccessOption }): Promise<ModelInfo>;
}

/** What the training API needs from the attested connection. */
export interface TrainingApiContext {
  readonly rpc: Client<typeof TrainingService>;
  readonly url: string;
  readonly ensureOpen: () => void;
}

function accessToWire(access: AccessOption | undefined) {
  return access === undefined ? {} : "public" in access ? { public: true } : { allow: [...access.allow] };
}

export function createTrainingApi(ctx: TrainingApiContext): TrainingApi {
  const call = <T>(action: string, run: () => Promise<T>): Promise<T> => callTrainingRpc(ctx, action, run);
  const requireRun = (id: string) => {
    if (typeof id !== "string" || id.trim() === "") throw new ClientError("invalid-argument", "run id must be a non-empty string (run_...)");
    return id;
  };
  return {
    async start(o) {
      let model: Uint8Array;
      if (typeof o.model === "string") {
        try {
          model = await readFile(o.model);
        } catch (cause) {
          throw new ClientError("invalid-file", `cannot read model file '${o.model}': ${(cause as NodeJS.ErrnoException).code ?? "error"}`, { cause });
        }
      } else if (o.model instanceof Uint8Array) model = o.model;
      else throw new ClientError("invalid-argument", "model must be the ONNX bytes or a file path");
      const opt: Exclude<OptimizerOption, OptimizerName> = typeof o.optimizer === "string" ? { kind: o.optimizer } : (o.optimizer ?? { kind: "sgd" });
      if (o.metricsShare !== undefined && !(o.metricsShare >= 0 && o.metricsShare <= 0.5)) throw new ClientError("invalid-argument", `metricsShare must be in [0, 0.5], got ${o.metricsShare}`);
      const config = {
        datasets: [...o.datasets],
        loss: o.loss,
        epochs: o.epochs,
        epsilon: o.epsilon,
        batchSize: BigInt(o.batchSize),
        maxBatchSize: BigInt(o.maxBatchSize ?? 0),
        maxGradNorm: o.maxGradNorm ?? 0,
        optimizer: opt.kind,
        learningRate: opt.learningRate ?? 0,
        momentum: opt.momentum ?? 0,
        weightDecay: opt.weightDecay ?? 0,
        evalDataset: o.evalDataset ?? "",
        deployName: o.deploy?.name ?? "",
        deployAccess: accessToWire(o.deploy?.access),
        output: o.output ?? "",
        frozen: [...(o.frozen ?? [])],
        // On the wire 0 means the default share and a negative value turns metrics off.
        metricsShare: o.metricsShare === undefined ? 0 : o.metricsShare === 0 ? -1 : o.metricsShare,
        releaseWeights: o.releaseWeights === true,
      };
      if (!Number.isSafeInteger(o.batchSize) || o.batchSize < 1) throw new ClientError("invalid-argument", `batchSize must be an integer >= 1, got ${o.batchSize}`);
      async function* requests(): AsyncGenerator<StartTrainingRequest> {
        yield create(StartTrainingRequestSchema, { part: { case: "config", value: config } });
        for (let at = 0; at < model.byteLength; at += UPLOAD_CHUNK_BYTES) {
          yield create(StartTrainingRequestSchema, { part: { case: "chunk", value: model.subarray(at, at + UPLOAD_CHUNK_BYTES) } });
        }
      }
      const response = await call("start training", () => ctx.rpc.startTraining(requests(), o.signal === undefined ? {} : { signal: o.signal }));
      if (response.run === undefined) throw new ClientError("server-error", "start training: the server answered without the run");
      return trainingRunFromWire(response.run);
    },
    async watch(runId, onEvent, signal) {
      return call(`watch training run ${runId}`, async () => {
        let last: TrainingRun | undefined;
        for await (const response of ctx.rpc.watchTraining({ run: requireRun(runId) }, signal === undefined ? {} : { signal })) {
          const e = response.event;
          let event: TrainingEvent | undefined;
          if (e.case === "progress") event = { kind: "progress", epoch: e.value.epoch, step: Number(e.value.step), totalSteps: Number(e.value.totalSteps) };
          else if (e.case === "epoch") event = { kind: "epoch", metrics: epochMetricsFromWire(e.value) };
          else if (e.case === "run") {
            last = trainingRunFromWire(e.value);
            event = { kind: "run", run: last };
          }
          if (event !== undefined) onEvent?.(event);
        }
        if (last === undefined) throw new ClientError("server-error", "watch training: the stream ended without the run");
        return last.status === "running" ? trainingRunFromWire((await ctx.rpc.getTraining({ run: runId })).run!) : last;
      });
    },
    async get(runId) {
      const response = await call(`get training run ${runId}`, () => ctx.rpc.getTraining({ run: requireRun(runId) }));
      return trainingRunFromWire(response.run!);
    },
    async list() {
      return (await call("list training runs", () => ctx.rpc.listTrainings({}))).runs.map(trainingRunFromWire);
    },
    async cancel(runId) {
      return trainingRunFromWire((await call(`cancel training run ${runId}`, () => ctx.rpc.cancelTraining({ run: requireRun(runId) }))).run!);
    },
    async downloadWeights(runId) {
      return call(`download the weights of run ${runId}`, async () => {
        let expected: { size: number; sha256: string } | undefined;
        const chunks: Uint8Array[] = [];
        let received = 0;
        for await (const response of ctx.rpc.downloadWeights({ run: requireRun(runId) })) {
          const part = response.part;
          if (part.case === "header") expected = { size: Number(part.value.sizeBytes), sha256: part.value.sha256 };
          else if (part.case === "chunk") {
            received += part.value.byteLength;
            if (expected === undefined || received > expected.size) throw new ClientError("server-error", "download weights: the server sent more bytes than it announced");
            chunks.push(part.value);
          }
        }
        const bytes = new Uint8Array(Buffer.concat(chunks, received));
        if (expected === undefined || received !== expected.size || createHash("sha256").update(bytes).digest("hex") !== expected.sha256) {
          throw new ClientError("server-error", "download weights: the model arrived incomplete or does not match its announced SHA-256; retry");
        }
        return bytes;
      });
    },
    async deploy(runId, name, options = {}) {
      const response = await call(`deploy run ${runId}`, () => ctx.rpc.deployTraining({ run: requireRun(runId), name, access: accessToWire(options.access) }));
      return modelInfoFromWire(response.model!);
    },
  };
}
