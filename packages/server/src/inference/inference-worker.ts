/**
 * An inference worker thread. onnxruntime-node's `run` executes synchronously on the calling
 * thread, so sessions live here and the main thread's event loop stays free for the network.
 * Sessions are created from bytes the pool sends (the model is only ever in memory) and kept
 * until the pool unloads them.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { fromOrtTensor, toOrtTensor } from "./ort-tensor.js";
import { readSignature } from "./read-signature.js";
import type { WorkerReply, WorkerRequest, WorkerSettings } from "./worker-messages.js";
import type { WorkerTensor } from "./wire-tensor.js";

const settings = workerData as WorkerSettings;
const port = parentPort!;
const sessions = new Map<string, ort.InferenceSession>();

const sessionOptions: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: settings.intraOpThreads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
  // The model and its tensors are secret: no profiling files, no optimized model dumps.
  enableProfiling: false,
  logSeverityLevel: 3,
  // onnxruntime's intra-op threads spin-wait after each run by default; on a server that also
  // terminates TLS and parses requests on the same cores, spinning steals the CPU the network
  // needs (measured: 4 to 6 ms of CPU per small request with 2 spinning threads on 2 cores).
  extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
};

async function create(bytes: ArrayBuffer): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(new Uint8Array(bytes), sessionOptions);
}

async function handle(msg: WorkerRequest): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }> {
  switch (msg.type) {
    case "inspect": {
      let session: ort.InferenceSession;
      try {
        session = await create(msg.bytes);
      } catch (err) {
        return { reply: { id: msg.id, ok: false, kind: "invalid-model", message: messageOf(err) }, transfer: [] };
      }
      try {
        return { reply: { id: msg.id, ok: true, signature: readSignature(session) }, transfer: [] };
      } catch (err) {
        return { reply: { id: msg.id, ok: false, kind: "invalid-model", message: messageOf(err) }, transfer: [] };
      } finally {
        await session.release();
      }
    }
    case "load": {
      if (!sessions.has(msg.modelId)) {
        try {
          sessions.set(msg.modelId, await create(msg.bytes));
        } catch (err) {
          return { reply: { id: msg.id, ok: false, kind: "invalid-model", message: messageOf(err) }, transfer: [] };
        }
      }
      return { reply: { id: msg.id, ok: true }, transfer: [] };
    }
    case "unload": {
      const session = sessions.get(msg.modelId);
      sessions.delete(msg.modelId);
      if (session !== undefined) await session.release();
      return { reply: { id: msg.id, ok: true }, transfer: [] };
    }
    case "run": {
      const session = sessions.get(msg.modelId);
      if (session === undefined) {
        return { reply: { id: msg.id, ok: false, kind: "not-loaded", message: "model not loaded" }, transfer: [] };
      }
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = toOrtTensor(t);
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await session.run(feeds, [...msg.outputNames]);
      } catch (err) {
        return { reply: { id: msg.id, ok: false, kind: "run-failed", message: messageOf(err) }, transfer: [] };
      }
      const outputs: Record<string, WorkerTensor> = {};
      const transfer: ArrayBuffer[] = [];
      for (const name of msg.outputNames) {
        const value = results[name] as ort.Tensor;
        const t = fromOrtTensor(value);
        outputs[name] = t;
        if (!transfer.includes(t.buffer)) transfer.push(t.buffer);
      }
      return { reply: { id: msg.id, ok: true, outputs }, transfer };
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

port.on("message", (msg: WorkerRequest) => {
  handle(msg).then(
    ({ reply, transfer }) => {
      try {
        port.postMessage(reply, transfer);
      } catch {
        // An output buffer owned by onnxruntime may refuse to move: send a copy instead.
        port.postMessage(reply);
      }
    },
    (err: unknown) => port.postMessage({ id: msg.id, ok: false, kind: "internal", message: messageOf(err) } satisfies WorkerReply),
  );
});
