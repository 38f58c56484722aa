import { Worker } from "node:worker_threads";
import { ServerError } from "../server-error.js";
import type { WorkerReply, WorkerRequest, WorkerSettings, ModelSignature } from "./worker-messages.js";
import type { WorkerTensor } from "./wire-tensor.js";

/** Options of {@link createInferencePool}. */
export interface InferencePoolOptions {
  /** Worker threads; each runs one request at a time. */
  readonly workers: number;
  /** onnxruntime intra-op threads per worker. */
  readonly intraOpThreads: number;
  /** Sessions each worker keeps (least recently used are released). */
  readonly maxLoadedModels: number;
  /** Plaintext bytes of a model, fetched (unsealed) the first time a worker needs it; the pool zeroes them after use. */
  readonly loadModelBytes: (modelId: string) => Promise<Uint8Array>;
  /** Told when a worker died unexpectedly (it is replaced at once). */
  readonly onWorkerExit?: (code: number) => void;
}

/** onnxruntime sessions in worker threads, loaded lazily per model and cached. */
export interface InferencePool {
  /** Validates bytes as ONNX by creating a session; returns its signature. `invalid-argument` if not ONNX. */
  inspect(bytes: Uint8Array): Promise<ModelSignature>;
  /** Runs a model; inputs must already be validated against its signature. */
  run(modelId: string, feeds: Record<string, WorkerTensor>, outputNames: readonly string[]): Promise<Record<string, WorkerTensor>>;
  /** Releases a model's sessions in every worker (after delete). */
  unload(modelId: string): Promise<void>;
  /** Waits for queued work, then stops the workers. */
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  /** Requests sent and not yet answered. */
  busy: number;
  /** Model ids loaded (or loading) in this worker, least recently used first. */
  readonly loaded: Map<string, Promise<void>>;
  /** Runs in flight per model id: such models are never evicted. */
  readonly inUse: Map<string, number>;
  readonly pending: Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>;
}

/** Starts the workers. */
export function createInferencePool(options: InferencePoolOptions): InferencePool {
  const settings: WorkerSettings = { intraOpThreads: options.intraOpThreads };
  let nextId = 1;
  let closed = false;
  const slots: Slot[] = [];
  const startWorker = () => new Worker(new URL("./inference-worker.js", import.meta.url), { workerData: settings });
  const watch = (slot: Slot): void => {
    const worker = slot.worker;
    worker.on("message", (reply: WorkerReply) => {
      const waiter = slot.pending.get(reply.id);
      slot.pending.delete(reply.id);
      if (--slot.busy === 0) worker.unref();
      waiter?.resolve(reply);
    });
    worker.on("error", () => undefined); // reported through "exit", which follows
    worker.on("exit", (code) => {
      if (closed || slot.worker !== worker) return;
      // A crashed worker loses its sessions: fail what it held, start a fresh one in its place.
      const err = new ServerError("internal", `inference worker exited with code ${code}`);
      for (const waiter of slot.pending.values()) waiter.reject(err);
      slot.pending.clear();
      slot.busy = 0;
      slot.loaded.clear();
      options.onWorkerExit?.(code);
      slot.worker = startWorker();
      watch(slot);
    });
    worker.unref();
  };
  for (let i = 0; i < options.workers; i++) {
    const slot: Slot = { worker: startWorker(), busy: 0, loaded: new Map(), inUse: new Map(), pending: new Map() };
    watch(slot);
    slots.push(slot);
  }

  const send = (slot: Slot, msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new ServerError("failed-precondition", "the server is shutting down: retry on another replica"));
      slot.pending.set(msg.id, { resolve, reject });
      // A worker with requests in flight keeps the process alive; an idle one does not.
      if (slot.busy++ === 0) slot.worker.ref();
      slot.worker.postMessage(msg, transfer);
    });

  const pick = (modelId?: string): Slot => {
    let best = slots[0]!;
    for (const s of slots) {
      const loadedHere = modelId !== undefined && s.loaded.has(modelId);
      const bestLoaded = modelId !== undefined && best.loaded.has(modelId);
      if (s.busy < best.busy || (s.busy === best.busy && loadedHere && !bestLoaded)) best = s;
    }
    return best;
  };

  const ensureLoaded = (slot: Slot, modelId: string): Promise<void> => {
    const existing = slot.loaded.get(modelId);
    if (existing !== undefined) {
      slot.loaded.delete(modelId); // re-insert: most recently used last
      slot.loaded.set(modelId, existing);
      return existing;
    }
    const loading = (async () => {
      const bytes = await options.loadModelBytes(modelId);
      const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      bytes.fill(0); // the unsealed weights live on only in the copy that moves to the worker
      const reply = await send(slot, { type: "load", id: nextId++, modelId, bytes: copy }, [copy]);
      if (!reply.ok) throw new ServerError("internal", `stored model ${modelId} could not be loaded (${reply.kind})`);
    })();
    slot.loaded.set(modelId, loading);
    loading.catch(() => slot.loaded.delete(modelId));
    for (const candidate of [...slot.loaded.keys()]) {
      if (slot.loaded.size <= options.maxLoadedModels) break;
      // Oldest first, skipping models with runs in flight (their session must stay).
      if (candidate === modelId || slot.inUse.has(candidate)) continue;
      slot.loaded.delete(candidate);
      void send(slot, { type: "unload", id: nextId++, modelId: candidate }).catch(() => undefined);
    }
    return loading;
  };

  return {
    async inspect(bytes) {
      const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const reply = await send(pick(), { type: "inspect", id: nextId++, bytes: copy }, [copy]);
      if (reply.ok && reply.signature !== undefined) return reply.signature;
      const detail = reply.ok ? "no signature" : reply.message;
      throw new ServerError("invalid-argument", `not a valid ONNX model: ${oneLine(detail)}`);
    },
    async run(modelId, feeds, outputNames) {
      const slot = pick(modelId);
      slot.inUse.set(modelId, (slot.inUse.get(modelId) ?? 0) + 1);
      let reply: WorkerReply;
      try {
        await ensureLoaded(slot, modelId);
        // The feeds' buffers move to the worker (transfer, not copy).
        const transfer = [...new Set(Object.values(feeds).map((t) => t.buffer))];
        reply = await send(slot, { type: "run", id: nextId++, modelId, feeds, outputNames }, transfer);
      } finally {
        const n = slot.inUse.get(modelId)! - 1;
        if (n === 0) slot.inUse.delete(modelId);
        else slot.inUse.set(modelId, n);
      }
      if (reply.ok && reply.outputs !== undefined) return reply.outputs;
      if (!reply.ok && reply.kind === "not-loaded") {
        // Models in use are never evicted, so only a delete can have unloaded it meanwhile.
        throw new ServerError("not-found", `model ${modelId} was deleted while this prediction waited`);
      }
      if (!reply.ok && reply.kind === "run-failed") {
        throw new ServerError("invalid-argument", `the model rejected the inputs: ${oneLine(reply.message)}`);
      }
      throw new ServerError("internal", `inference failed (${reply.ok ? "no outputs" : reply.kind})`);
    },
    async unload(modelId) {
      await Promise.all(
        slots
          .filter((s) => s.loaded.delete(modelId))
          .map((s) => send(s, { type: "unload", id: nextId++, modelId }).catch(() => undefined)),
      );
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 500);
}
