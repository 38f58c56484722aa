import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { WatchTrainingResponseSchema, type TrainingService, type WatchTrainingResponse } from "@sanctum/protocol";
import { validateAccess } from "../models/model-access.js";
import { toModelInfo } from "../models/model-info.js";
import { validateModelName } from "../models/model-name.js";
import { MAX_CHUNK_BYTES } from "../models/upload-limits.js";
import { callerOf, noteObject } from "../rpc/call-context.js";
import { ServerError } from "../server-error.js";
import { receiveTrainingModel } from "./receive-model.js";
import { resolveRunConfig, type RunConfig } from "./run-config.js";
import type { RunEvent } from "./run-events.js";
import { toEpochMetrics, toTrainingRun } from "./run-info.js";
import type { TrainingManager } from "./training-manager.js";

/** What the training service needs. */
export interface TrainingServiceOptions {
  readonly manager: TrainingManager;
  readonly maxModelBytes: number;
}

/**
 * TrainingService: start (config checked as soon as it arrives, then the model; resolves
 * once the budget is reserved), watch, get, list, cancel, download weights (when every
 * dataset's policy allows this caller), deploy. Runs are visible to whoever started them.
 */
export function createTrainingService(options: TrainingServiceOptions): ServiceImpl<typeof TrainingService> {
  const { manager } = options;
  const runRef = (id: string) => {
    if (id.length === 0) throw new ServerError("invalid-argument", "run is required: give the run id 'sanctum train' printed");
    return id;
  };
  return {
    async startTraining(requests, ctx) {
      const caller = callerOf(ctx);
      let config: RunConfig | undefined;
      const { model } = await receiveTrainingModel(requests, {
        maxModelBytes: options.maxModelBytes,
        onConfig: (c) => (config = resolveRunConfig(c, caller)),
      });
      try {
        const run = await manager.start(caller, config!, model);
        noteObject(ctx, run.id);
        return { run: toTrainingRun(run) };
      } finally {
        model.fill(0);
      }
    },

    async *watchTraining(req, ctx) {
      const caller = callerOf(ctx);
      noteObject(ctx, req.run.slice(0, 80));
      // A failure here is mapped (and an internal one logged) by the error boundary.
      for await (const event of manager.watch(caller, runRef(req.run), ctx.signal)) yield toWire(event);
    },

    async getTraining(req, ctx) {
      const caller = callerOf(ctx);
      noteObject(ctx, req.run.slice(0, 80));
      return { run: toTrainingRun(manager.get(caller, runRef(req.run))) };
    },

    async listTrainings(_req, ctx) {
      return { runs: manager.list(callerOf(ctx)).map(toTrainingRun) };
    },

    async cancelTraining(req, ctx) {
      const caller = callerOf(ctx);
      noteObject(ctx, req.run.slice(0, 80));
      return { run: toTrainingRun(manager.cancel(caller, runRef(req.run))) };
    },

    async *downloadWeights(req, ctx) {
      const caller = callerOf(ctx);
      noteObject(ctx, req.run.slice(0, 80));
      const { bytes, sha256 } = await manager.downloadWeights(caller, runRef(req.run));
      try {
        yield { part: { case: "header", value: { sizeBytes: BigInt(bytes.byteLength), sha256 } } };
        for (let at = 0; at < bytes.byteLength; at += MAX_CHUNK_BYTES) {
          yield { part: { case: "chunk", value: new Uint8Array(bytes.subarray(at, at + MAX_CHUNK_BYTES)) } };
        }
      } finally {
        bytes.fill(0);
      }
    },

    async deployTraining(req, ctx) {
      const caller = callerOf(ctx);
      noteObject(ctx, req.run.slice(0, 80));
      const model = await manager.deploy(caller, runRef(req.run), validateModelName(req.name), validateAccess(req.access, caller));
      return { model: toModelInfo(model, caller) };
    },
  };
}

function toWire(event: RunEvent): WatchTrainingResponse {
  switch (event.kind) {
    case "progress":
      return create(WatchTrainingResponseSchema, { event: { case: "progress", value: { epoch: event.epoch, step: BigInt(event.step), totalSteps: BigInt(event.totalSteps) } } });
    case "epoch":
      return create(WatchTrainingResponseSchema, { event: { case: "epoch", value: toEpochMetrics(event.metrics) } });
    case "run":
      return create(WatchTrainingResponseSchema, { event: { case: "run", value: toTrainingRun(event.run) } });
  }
}
