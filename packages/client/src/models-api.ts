import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { EvidenceBundle } from "@sanctum/attestation";
import {
  digestTensors,
  ModelService,
  UploadModelRequestSchema,
  verifyReceiptSignature,
  type ReceiptPayload,
  type Tensor,
  type UploadModelRequest,
} from "@sanctum/protocol";
import { ClientError, type ClientErrorCode } from "./client-error.js";
import { mapCallError } from "./map-connect-error.js";
import { modelInfoFromWire, type ModelInfo } from "./model-info.js";
import type { ReceiptFile } from "./receipt-file.js";
import { fromWireTensor, toRawTensors, toWireTensor, type TensorMap, type TypedTensor } from "./typed-tensor.js";

/** Chunk size of uploads: the protocol's maximum, 1 MiB. */
export const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/** Who may query an uploaded model besides its owner. Default: the owner only. */
export type AccessOption = { readonly public: true } | { readonly allow: readonly string[] };

/** Options of {@link ModelsApi.upload}. */
export interface UploadOptions {
  /**
   * Name to find the model by (unique among your models). Default for a file path: the file
   * name without `.onnx`; required when uploading bytes.
   */
  readonly name?: string;
  /** Default: only the owner (the uploader) may query. */
  readonly access?: AccessOption;
  /** Called after each chunk is handed to the transport, with bytes sent so far and the total. */
  readonly onProgress?: (bytesSent: number, totalBytes: number) => void;
  /** Aborts the upload; the server keeps nothing of it. */
  readonly signal?: AbortSignal;
}

/** Options of {@link ModelsApi.predict}. */
export interface PredictOptions {
  /** Ask for a receipt signed by the attested server key; default false. */
  readonly receipt?: boolean;
  readonly signal?: AbortSignal;
}

/** What a prediction returns. */
export interface PredictResult {
  readonly outputs: Record<string, TypedTensor>;
  /** Present when asked for; already checked against the inputs sent and outputs received. */
  readonly receipt?: ReceiptFile;
}

/** The model registry and confidential inference. Every call goes over the attested channel. */
export interface ModelsApi {
  /** Uploads an ONNX model, from bytes or a file path (streamed, in chunks of at most 1 MiB). */
  upload(model: Uint8Array | string, options?: UploadOptions): Promise<ModelInfo>;
  /** Models this identity owns or may query. */
  list(): Promise<ModelInfo[]>;
  /** One model, by id or name. */
  get(idOrName: string): Promise<ModelInfo>;
  /** Deletes a model you own; returns its id. */
  delete(idOrName: string): Promise<string>;
  /** Runs the model on named inputs; outputs come back typed. */
  predict(idOrName: string, inputs: TensorMap, options?: PredictOptions): Promise<PredictResult>;
}

/** What the models API needs from the attested connection. */
export interface ModelsApiContext {
  readonly rpc: Client<typeof ModelService>;
  readonly url: string;
  readonly spki: Uint8Array;
  readonly evidence: EvidenceBundle;
  readonly ensureOpen: () => void;
}

export function createModelsApi(ctx: ModelsApiContext): ModelsApi {
  const call = async <T>(action: string, run: () => Promise<T>, hints: Partial<Record<ClientErrorCode, string>> = {}): Promise<T> => {
    ctx.ensureOpen();
    try {
      return await run();
    } catch (err) {
      throw mapCallError(err, action, ctx.url, hints);
    }
  };
  return {
    async upload(model, options = {}) {
      const source = await openModelSource(model);
      const header = create(UploadModelRequestSchema, {
        part: {
          case: "header",
          value: {
            name: options.name ?? (typeof model === "string" ? basename(model).replace(/\.onnx$/i, "") : ""),
            access: options.access === undefined ? {} : "public" in options.access ? { public: true } : { allow: [...options.access.allow] },
          },
        },
      });
      async function* requests(): AsyncGenerator<UploadModelRequest> {
        yield header;
        let sent = 0;
        for await (const chunk of source.chunks()) {
          yield create(UploadModelRequestSchema, { part: { case: "chunk", value: chunk } });
          sent += chunk.byteLength;
          options.onProgress?.(sent, source.totalBytes);
        }
      }
      const response = await call(
        "upload model",
        () => ctx.rpc.uploadModel(requests(), options.signal === undefined ? {} : { signal: options.signal }),
        { "invalid-argument": "upload a complete ONNX file (as torch.onnx.export writes it) with a name" },
      );
      if (response.model === undefined) throw new ClientError("server-error", "upload model: the server answered without the model's description; report this to its operator");
      return modelInfoFromWire(response.model);
    },
    async list() {
      const response = await call("list models", () => ctx.rpc.listModels({}));
      return response.models.map(modelInfoFromWire);
    },
    async get(idOrName) {
      requireModelRef(idOrName);
      const response = await call(`get model '${idOrName}'`, () => ctx.rpc.getModel({ model: idOrName }));
      if (response.model === undefined) throw new ClientError("server-error", "get model: the server answered without the model; report this to its operator");
      return modelInfoFromWire(response.model);
    },
    async delete(idOrName) {
      requireModelRef(idOrName);
      const response = await call(`delete model '${idOrName}'`, () => ctx.rpc.deleteModel({ model: idOrName }));
      return response.id;
    },
    async predict(idOrName, inputs, options = {}) {
      requireModelRef(idOrName);
      const wireInputs: Record<string, Tensor> = {};
      for (const [name, tensor] of Object.entries(inputs)) wireInputs[name] = toWireTensor(tensor);
      if (Object.keys(wireInputs).length === 0) throw new ClientError("invalid-tensor", "predict: inputs is empty; give one tensor per model input");
      const response = await call(
        `predict with model '${idOrName}'`,
        () =>
          ctx.rpc.predict(
            { model: idOrName, inputs: wireInputs, receipt: options.receipt === true },
            options.signal === undefined ? {} : { signal: options.signal },
          ),
        { "invalid-argument": `'sanctum model info ${idOrName}' shows the inputs the model expects` },
      );
      const outputs: Record<string, TypedTensor> = {};
      for (const [name, wire] of Object.entries(response.outputs)) outputs[name] = fromWireTensor(name, wire);
      if (options.receipt !== true) return { outputs };
      if (response.receipt === undefined) throw new ClientError("receipt-invalid", "predict: a receipt was asked for but the server sent none; the server may be outdated");
      const receipt = { payload: response.receipt.payload, signature: response.receipt.signature };
      // Check the receipt now, while the inputs and outputs are at hand: a receipt that
      // does not cover exactly this exchange is worthless later.
      let statement: ReceiptPayload;
      try {
        statement = verifyReceiptSignature(receipt, ctx.spki);
      } catch (cause) {
        throw new ClientError("receipt-invalid", "predict: the server's receipt is not signed by the attested key; do not trust this result", { cause });
      }
      if (statement.inputDigest !== digestTensors(toRawTensors(inputs)) || statement.outputDigest !== digestTensors(toRawTensors(outputs))) {
        throw new ClientError("receipt-invalid", "predict: the server's receipt covers other inputs or outputs than this exchange; do not trust this result");
      }
      return { outputs, receipt: { receipt, serverSpki: ctx.spki, evidence: ctx.evidence } };
    },
  };
}

function requireModelRef(idOrName: string): void {
  if (typeof idOrName !== "string" || idOrName.trim() === "") throw new ClientError("invalid-argument", "model id or name must be a non-empty string");
}

interface ModelSource {
  readonly totalBytes: number;
  chunks(): AsyncIterable<Uint8Array>;
}

async function openModelSource(model: Uint8Array | string): Promise<ModelSource> {
  if (model instanceof Uint8Array) {
    return {
      totalBytes: model.byteLength,
      async *chunks() {
        for (let at = 0; at < model.byteLength; at += UPLOAD_CHUNK_BYTES) yield model.subarray(at, at + UPLOAD_CHUNK_BYTES);
      },
    };
  }
  if (typeof model !== "string") throw new ClientError("invalid-argument", "model must be the ONNX bytes (Uint8Array) or a file path");
  let totalBytes: number;
  try {
    const info = await stat(model);
    if (!info.isFile()) throw new Error("not a regular file");
    totalBytes = info.size;
  } catch (cause) {
    throw new ClientError("invalid-file", `cannot read model file '${model}': ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  return {
    totalBytes,
    async *chunks() {
      for await (const chunk of createReadStream(model, { highWaterMark: UPLOAD_CHUNK_BYTES })) {
        yield chunk as Buffer;
      }
    },
  };
}
