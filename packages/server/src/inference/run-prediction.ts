import type { KeyObject } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { digestTensors, signReceipt, TensorSchema, type RawTensor, type Tensor, type SignedReceipt } from "@sanctum/protocol";
import type { ModelRecord } from "../models/model-record.js";
import type { InferencePool } from "./inference-pool.js";
import { validateInputs, type IncomingTensor } from "./validate-inputs.js";
import { toWorkerTensor } from "./wire-tensor.js";

/** What {@link runPrediction} needs besides the request. */
export interface PredictionContext {
  readonly pool: InferencePool;
  /** The TLS private key: receipts are signed by the attested key. */
  readonly receiptKey: KeyObject;
  readonly now: () => Date;
}

/** The outputs as wire tensors, and a receipt when one was asked for. */
export interface PredictionResult {
  readonly outputs: Record<string, Tensor>;
  readonly receipt?: SignedReceipt;
}

/**
 * Validates the inputs against the model, runs it in the worker pool and, when asked, signs
 * a receipt over (model id, model SHA-256, input digest, output digest, time). Digests are
 * over the tensors exactly as received and as sent.
 */
export async function runPrediction(
  model: ModelRecord,
  inputs: Readonly<Record<string, IncomingTensor>>,
  wantReceipt: boolean,
  ctx: PredictionContext,
): Promise<PredictionResult> {
  const checked = validateInputs(model.inputs, inputs);
  const inputDigest = wantReceipt ? digestTensors(checked) : undefined;
  const feeds = Object.fromEntries(Object.entries(checked).map(([name, t]) => [name, toWorkerTensor(t.dtype, t.shape, t.data)]));
  const results = await ctx.pool.run(model.id, feeds, model.outputs.map((o) => o.name));
  const outputs: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(results)) {
    outputs[name] = create(TensorSchema, { dtype: t.dtype, shape: t.dims.map(BigInt), data: new Uint8Array(t.buffer) });
  }
  if (inputDigest === undefined) return { outputs };
  // The digest covers the output bytes exactly as sent.
  const raw: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(results)) raw[name] = { dtype: t.dtype, shape: t.dims, data: outputs[name]!.data };
  const receipt = signReceipt(
    {
      type: "sanctum-prediction-receipt",
      version: 1,
      model: model.id,
      modelSha256: model.sha256,
      inputDigest,
      outputDigest: digestTensors(raw),
      time: ctx.now().toISOString(),
    },
    ctx.receiptKey,
  );
  return { outputs, receipt };
}
