import type { DatasetArray } from "@sanctum/trainer";

/** Settings a metrics worker starts with (its `workerData`). Arrays are SharedArrayBuffer-backed. */
export interface MetricsWorkerSettings {
  readonly inputs: Readonly<Record<string, DatasetArray>>;
  readonly labels: DatasetArray;
  readonly loss: "cross_entropy" | "mse" | "bce_with_logits";
  /** Model output the loss applies to; default the first. */
  readonly output?: string;
  readonly maxBatchSize: number;
  readonly intraOpThreads: number;
}

/** One evaluation: the model to run and the records to run it on. */
export interface MetricsRequest {
  readonly id: number;
  /** ONNX bytes (transferred). */
  readonly model: ArrayBuffer;
  readonly indices: Uint32Array;
  /** Each per-sample loss is clipped to [0, lossClip]. */
  readonly lossClip: number;
}

/** Sums over the records evaluated: what the DP release adds noise to. */
export type MetricsReply =
  | { readonly id: number; readonly ok: true; readonly clippedLossSum: number; readonly correctSum: number; readonly count: number }
  | { readonly id: number; readonly ok: false; readonly message: string };
