import type { TrainingDataset } from "./dataset.js";
import type { TrainerKernels } from "./kernel-check.js";
import type { TrainerOptions, TrainingProgress } from "./training-types.js";

/** Calls the caller thread makes into the training worker (one at a time). */
export type WorkerCall =
  | { readonly method: "plan"; readonly epochs: number }
  | { readonly method: "fit"; readonly epochs: number; readonly test: TrainingDataset | undefined }
  | { readonly method: "evaluate"; readonly dataset: TrainingDataset; readonly batchSize: number | undefined }
  | { readonly method: "privacy" }
  | { readonly method: "parameters" }
  | { readonly method: "export" }
  | { readonly method: "close" };

/** What the worker receives at start (workerData). */
export interface WorkerStart {
  readonly options: TrainerOptions;
  /** Int32Array[1] over a SharedArrayBuffer: set to 1 to stop a fit after the current step. */
  readonly stopFlag: SharedArrayBuffer;
}

/** An error crossing the thread boundary (name, code and message; never data). */
export interface WorkerErrorData {
  readonly name: string;
  readonly code: string | undefined;
  readonly message: string;
}

/** Messages from the worker. */
export type WorkerMessage =
  | { readonly type: "ready"; readonly params: { name: string; shape: number[] }[]; readonly datasetSize: number; readonly kernels: TrainerKernels }
  | { readonly type: "failed"; readonly error: WorkerErrorData }
  | { readonly type: "progress"; readonly id: number; readonly event: TrainingProgress }
  | { readonly type: "result"; readonly id: number; readonly value: unknown }
  | { readonly type: "error"; readonly id: number; readonly error: WorkerErrorData };

/** Serializes an error for postMessage. */
export function toErrorData(err: unknown): WorkerErrorData {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, code: typeof code === "string" ? code : undefined, message: err.message };
  }
  return { name: "Error", code: undefined, message: String(err) };
}
