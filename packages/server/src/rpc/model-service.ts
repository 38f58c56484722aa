import type { ServiceImpl } from "@connectrpc/connect";
import type { ModelService } from "@sanctum/protocol";
import type { InferencePool } from "../inference/inference-pool.js";
import { runPrediction, type PredictionContext } from "../inference/run-prediction.js";
import { assertMayQuery, assertOwner, validateAccess } from "../models/model-access.js";
import { toModelInfo } from "../models/model-info.js";
import { validateModelName } from "../models/model-name.js";
import { newModelRecord, type ModelAccess } from "../models/model-record.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { receiveUpload } from "../models/receive-upload.js";
import { ServerError } from "../server-error.js";
import { callerOf, noteObject } from "./call-context.js";

/** What the model service needs. */
export interface ModelServiceOptions extends PredictionContext {
  readonly registry: ModelRegistry;
  readonly pool: InferencePool;
  readonly maxModelBytes: number;
}

/**
 * ModelService: upload (owner = uploader; access public, an allow-list, or owner only), list
 * and describe what the caller may query, delete (owner only), predict (owner, allow-list or
 * public). Each handler notes the object id for the audit trail.
 */
export function createModelService(options: ModelServiceOptions): ServiceImpl<typeof ModelService> {
  const { registry, pool } = options;
  return {
    async uploadModel(requests, ctx) {
      const caller = callerOf(ctx);
      let name = "";
      let access: ModelAccess = { public: false, allow: [] };
      const { bytes } = await receiveUpload(requests, {
        maxModelBytes: options.maxModelBytes,
        onHeader(header) {
          // Checked as soon as the header lands, so a bad name fails before megabytes flow.
          name = validateModelName(header.name);
          access = validateAccess(header.access, caller);
          registry.assertNameFree(caller, name);
        },
      });
      try {
        const signature = await pool.inspect(bytes);
        const record = newModelRecord({ bytes, signature, owner: caller, name, access, source: "upload", now: options.now() });
        noteObject(ctx, record.id);
        await registry.create(record, bytes);
        return { model: toModelInfo(record, caller) };
      } finally {
        bytes.fill(0); // plaintext weights do not linger in freed memory longer than needed
      }
    },

    async listModels(_req, ctx) {
      const caller = callerOf(ctx);
      return { models: registry.listVisibleTo(caller).map((m) => toModelInfo(m, caller)) };
    },

    async getModel(req, ctx) {
      const caller = callerOf(ctx);
      const model = registry.resolve(requiredRef(req.model), caller);
      noteObject(ctx, model.id);
      assertMayQuery(model, caller);
      return { model: toModelInfo(model, caller) };
    },

    async deleteModel(req, ctx) {
      const caller = callerOf(ctx);
      const model = registry.resolve(requiredRef(req.model), caller);
      noteObject(ctx, model.id);
      assertOwner(model, caller, "delete");
      await registry.delete(model.id);
      await pool.unload(model.id);
      return { id: model.id };
    },

    async predict(req, ctx) {
      const caller = callerOf(ctx);
      const model = registry.resolve(requiredRef(req.model), caller);
      noteObject(ctx, model.id);
      assertMayQuery(model, caller);
      const result = await runPrediction(model, req.inputs, req.receipt, options);
      return {
        outputs: result.outputs,
        ...(result.receipt === undefined ? {} : { receipt: { payload: result.receipt.payload, signature: result.receipt.signature } }),
      };
    },
  };
}

function requiredRef(ref: string): string {
  if (ref.length === 0) throw new ServerError("invalid-argument", "model is required: give a model id or name");
  if (ref.length > 200) throw new ServerError("invalid-argument", "model: an id or name is at most 200 characters");
  return ref;
}
