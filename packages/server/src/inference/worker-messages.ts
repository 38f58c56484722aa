import type { TensorSpecRecord } from "../models/model-record.js";
import type { WorkerTensor } from "./wire-tensor.js";

/** Settings every inference worker starts with (its `workerData`). */
export interface WorkerSettings {
  readonly intraOpThreads: number;
}

/** Messages the pool sends a worker. Each carries an id the reply echoes. */
export type WorkerRequest =
  | { readonly type: "inspect"; readonly id: number; readonly bytes: ArrayBuffer }
  | { readonly type: "load"; readonly id: number; readonly modelId: string; readonly bytes: ArrayBuffer }
  | { readonly type: "unload"; readonly id: number; readonly modelId: string }
  | {
      readonly type: "run";
      readonly id: number;
      readonly modelId: string;
      readonly feeds: Readonly<Record<string, WorkerTensor>>;
      readonly outputNames: readonly string[];
    };

/** The description of a model's inputs and outputs, as onnxruntime reads it. */
export interface ModelSignature {
  readonly inputs: readonly TensorSpecRecord[];
  readonly outputs: readonly TensorSpecRecord[];
}

/** A worker's reply. Failures carry onnxruntime's message (shapes and node names, never data). */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly signature?: ModelSignature; readonly outputs?: Record<string, WorkerTensor> }
  | { readonly id: number; readonly ok: false; readonly kind: "invalid-model" | "run-failed" | "not-loaded" | "internal"; readonly message: string };
