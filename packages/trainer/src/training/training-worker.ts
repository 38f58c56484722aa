import { parentPort, workerData } from "node:worker_threads";
import { TrainerCore } from "./trainer-core.js";
import { toErrorData, type WorkerCall, type WorkerMessage, type WorkerStart } from "./worker-protocol.js";

// The training thread: onnxruntime-node's run() blocks the thread it is called on, so
// createTrainer runs every step here and the caller's event loop stays free.
const port = parentPort;
if (port === null) throw new Error("training-worker.js must run as a worker thread");
const start = workerData as WorkerStart;
const stop = new Int32Array(start.stopFlag);

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

let core: TrainerCore;
try {
  core = await TrainerCore.create(start.options);
  post({ type: "ready", params: core.params.map((p) => ({ name: p.name, shape: [...p.shape] })), datasetSize: core.datasetSize, kernels: core.kernels });
} catch (err) {
  post({ type: "failed", error: toErrorData(err) });
  process.exit(0);
}

// Calls arrive one at a time (createTrainer serializes them), so a plain queue suffices.
let queue: Promise<void> = Promise.resolve();
port.on("message", (message: { id: number; call: WorkerCall }) => {
  queue = queue.then(() => handle(message.id, message.call));
});

async function handle(id: number, call: WorkerCall): Promise<void> {
  try {
    switch (call.method) {
      case "plan":
        return post({ type: "result", id, value: core.plan(call.epochs) });
      case "fit": {
        Atomics.store(stop, 0, 0);
        const value = await core.fit(call.epochs, call.test, (event) => post({ type: "progress", id, event }), () => Atomics.load(stop, 0) === 1);
        return post({ type: "result", id, value });
      }
      case "evaluate":
        return post({ type: "result", id, value: await core.evaluate(call.dataset, call.batchSize) });
      case "privacy":
        return post({ type: "result", id, value: core.privacy() });
      case "parameters":
        return post({ type: "result", id, value: core.parameters() });
      case "export": {
        const bytes = core.exportModel();
        return post({ type: "result", id, value: bytes }, [bytes.buffer as ArrayBuffer]);
      }
      case "close":
        await core.close();
        post({ type: "result", id, value: undefined });
        return port!.close();
    }
  } catch (err) {
    post({ type: "error", id, error: toErrorData(err) });
  }
}
