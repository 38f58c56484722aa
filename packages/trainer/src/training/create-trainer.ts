import { Worker } from "node:worker_threads";
import { TrainerError, type TrainerErrorCode } from "../trainer-error.js";
import type { TrainingDataset } from "./dataset.js";
import type { TrainerKernels } from "./kernel-check.js";
import type { EvaluationResult, FitOptions, FitResult, PrivacyReport, Trainer, TrainerOptions, TrainingPlan, TrainingProgress } from "./training-types.js";
import type { WorkerCall, WorkerErrorData, WorkerMessage, WorkerStart } from "./worker-protocol.js";

/**
 * Starts a trainer in its own worker thread: builds the training graph of `options.model`,
 * checks the dataset against it (names, dtypes, shapes, label ranges), and runs one warm-up
 * step, so configuration errors surface here rather than mid-run. The caller's event loop stays
 * free while training runs. Datasets are copied into the worker unless backed by a
 * SharedArrayBuffer. Call `close()` when done.
 *
 * @example
 * const trainer = await createTrainer({ model, loss: "cross_entropy", train,
 *   privacy: { mode: "dp", maxGradNorm: 1, targetEpsilon: 3, delta: 1e-5 },
 *   optimizer: { kind: "sgd", lr: 0.5, momentum: 0.9 }, batchSize: 256 });
 * const result = await trainer.fit({ epochs: 10, test, onProgress: (e) => console.log(e) });
 * const trained = await trainer.exportModel();
 * await trainer.close();
 */
export async function createTrainer(options: TrainerOptions): Promise<Trainer> {
  const stopFlag = new SharedArrayBuffer(4);
  const start: WorkerStart = { options, stopFlag };
  const worker = new Worker(new URL("./training-worker.js", import.meta.url), { workerData: start });
  const ready = await new Promise<Extract<WorkerMessage, { type: "ready" }>>((resolve, reject) => {
    const onMessage = (m: WorkerMessage) => {
      worker.off("error", onError);
      worker.off("message", onMessage);
      if (m.type === "ready") resolve(m);
      else if (m.type === "failed") reject(fromErrorData(m.error));
      else reject(new TrainerError("worker-failed", `the training worker sent '${m.type}' before it was ready`));
    };
    const onError = (err: Error) => {
      worker.off("message", onMessage);
      reject(new TrainerError("worker-failed", `the training worker failed to start: ${err.message}`, { cause: err }));
    };
    worker.on("message", onMessage);
    worker.on("error", onError);
  });
  return new WorkerTrainer(worker, new Int32Array(stopFlag), ready);
}

class WorkerTrainer implements Trainer {
  readonly params: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly datasetSize: number;
  readonly kernels: TrainerKernels;
  readonly #worker: Worker;
  readonly #stop: Int32Array;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; onProgress?: (e: TrainingProgress) => void }>();
  #nextId = 1;
  #closed: TrainerError | undefined;

  constructor(worker: Worker, stop: Int32Array, ready: Extract<WorkerMessage, { type: "ready" }>) {
    this.#worker = worker;
    this.#stop = stop;
    this.params = ready.params;
    this.datasetSize = ready.datasetSize;
    this.kernels = ready.kernels;
    worker.on("message", (m: WorkerMessage) => this.#onMessage(m));
    worker.on("error", (err) => this.#failAll(new TrainerError("worker-failed", `the training worker crashed: ${err.message}`, { cause: err })));
    worker.on("exit", (code) => this.#failAll(new TrainerError(code === 0 ? "cancelled" : "worker-failed", code === 0 ? "the trainer is closed" : `the training worker exited with code ${code}`)));
  }

  #onMessage(m: WorkerMessage): void {
    if (m.type === "progress") {
      this.#pending.get(m.id)?.onProgress?.(m.event);
    } else if (m.type === "result" || m.type === "error") {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.type === "result") p?.resolve(m.value);
      else p?.reject(fromErrorData(m.error));
    }
  }

  #failAll(err: TrainerError): void {
    this.#closed ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #call<T>(call: WorkerCall, onProgress?: (e: TrainingProgress) => void): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(onProgress ? { onProgress } : {}) });
      this.#worker.postMessage({ id, call });
    });
  }

  plan(epochs: number): Promise<TrainingPlan> {
    return this.#call({ method: "plan", epochs });
  }

  async fit(options: FitOptions): Promise<FitResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    const onAbort = () => Atomics.store(this.#stop, 0, 1);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      // The worker clears the flag when the fit starts; an abort racing with that is re-applied after.
      const result = this.#call<FitResult>({ method: "fit", epochs: options.epochs, test: options.test }, (e) => {
        if (signal?.aborted === true) onAbort();
        options.onProgress?.(e);
      });
      return await result;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  evaluate(dataset: TrainingDataset, options?: { batchSize?: number }): Promise<EvaluationResult> {
    return this.#call({ method: "evaluate", dataset, batchSize: options?.batchSize });
  }

  privacy(): Promise<PrivacyReport> {
    return this.#call({ method: "privacy" });
  }

  parameters(): Promise<Map<string, Float32Array>> {
    return this.#call({ method: "parameters" });
  }

  exportModel(): Promise<Uint8Array> {
    return this.#call({ method: "export" });
  }

  async close(): Promise<void> {
    if (this.#closed !== undefined) return;
    await this.#call({ method: "close" });
    this.#closed = new TrainerError("cancelled", "the trainer is closed");
    await this.#worker.terminate();
  }
}

/** Rebuilds an error from the worker: TrainerError by code, RangeError/TypeError by name. */
function fromErrorData(e: WorkerErrorData): Error {
  if (e.name === "TrainerError" && e.code !== undefined) return new TrainerError(e.code as TrainerErrorCode, e.message);
  if (e.name === "RangeError") return new RangeError(e.message);
  if (e.name === "TypeError") return new TypeError(e.message);
  return new TrainerError("worker-failed", `training failed: ${e.message}`);
}
