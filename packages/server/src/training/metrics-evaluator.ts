import { Worker } from "node:worker_threads";
import type { TrainingDataset } from "@sanctum/trainer";
import { ServerError } from "../server-error.js";
import type { MetricsReply, MetricsWorkerSettings } from "./metrics-messages.js";

/** Sums over evaluated records, before noise. Never leaves the server. */
export interface MetricSums {
  readonly clippedLossSum: number;
  readonly correctSum: number;
  readonly count: number;
}

/** Runs a model over records of one dataset in a worker thread (one per run). */
export interface MetricsEvaluator {
  evaluate(model: Uint8Array, indices: Uint32Array, lossClip: number): Promise<MetricSums>;
  close(): Promise<void>;
}

/** Options of {@link createMetricsEvaluator}. */
export interface MetricsEvaluatorOptions {
  readonly data: TrainingDataset;
  readonly loss: MetricsWorkerSettings["loss"];
  readonly output?: string;
  /** Rows per onnxruntime call. */
  readonly maxBatchSize: number;
  /** onnxruntime intra-op threads; default 1. */
  readonly intraOpThreads?: number;
}

/** Starts the worker; the dataset's SharedArrayBuffers are shared with it, not copied. */
export function createMetricsEvaluator(options: MetricsEvaluatorOptions): MetricsEvaluator {
  const settings: MetricsWorkerSettings = {
    inputs: options.data.inputs,
    labels: options.data.labels,
    loss: options.loss,
    ...(options.output === undefined ? {} : { output: options.output }),
    maxBatchSize: options.maxBatchSize,
    intraOpThreads: options.intraOpThreads ?? 1,
  };
  const worker = new Worker(new URL("./metrics-worker.js", import.meta.url), { workerData: settings });
  worker.unref();
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: MetricsReply) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on("message", (reply: MetricsReply) => {
    pending.get(reply.id)?.resolve(reply);
    pending.delete(reply.id);
  });
  worker.on("error", failAll);
  worker.on("exit", (code) => failAll(new Error(`metrics worker exited with code ${code}`)));
  return {
    async evaluate(model, indices, lossClip) {
      const copy = model.buffer.slice(model.byteOffset, model.byteOffset + model.byteLength) as ArrayBuffer;
      const id = nextId++;
      const reply = await new Promise<MetricsReply>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, model: copy, indices, lossClip }, [copy]);
      });
      if (!reply.ok) throw new ServerError("invalid-argument", `the model could not be evaluated for metrics: ${reply.message.replace(/\s+/g, " ").slice(0, 300)}`);
      return reply;
    },
    async close() {
      await worker.terminate();
    },
  };
}
