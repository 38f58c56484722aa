/**
 * A metrics worker thread: runs the model of the current epoch over chosen records and returns
 * the sums a DP release needs (clipped per-sample losses, correct predictions). onnxruntime's
 * `run` is synchronous on its thread, so this stays off the server's event loop. Nothing
 * leaves this thread but the three sums.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import type { DatasetArray } from "@sanctum/trainer";
import type { MetricsReply, MetricsRequest, MetricsWorkerSettings } from "./metrics-messages.js";

const settings = workerData as MetricsWorkerSettings;
const port = parentPort!;

type Typed = DatasetArray["data"];
const MAKERS: Readonly<Record<string, (n: number) => Typed>> = {
  float32: (n) => new Float32Array(n), float64: (n) => new Float64Array(n), int8: (n) => new Int8Array(n), uint8: (n) => new Uint8Array(n),
  int16: (n) => new Int16Array(n), uint16: (n) => new Uint16Array(n), int32: (n) => new Int32Array(n), uint32: (n) => new Uint32Array(n),
  int64: (n) => new BigInt64Array(n), uint64: (n) => new BigUint64Array(n), bool: (n) => new Uint8Array(n),
};

function rowLength(a: DatasetArray): number {
  return a.shape.slice(1).reduce((x, y) => x * y, 1);
}

/** Copies the chosen rows of `src` into a fresh array of `dtype` (the model input's type). */
function gather(src: DatasetArray, rows: Uint32Array, from: number, count: number, dtype: string): Typed {
  const len = rowLength(src);
  const make = MAKERS[dtype];
  if (make === undefined) throw new Error(`model input type ${dtype} is not supported for metrics`);
  const out = make(count * len);
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  const data = src.data;
  for (let r = 0; r < count; r++) {
    const base = rows[from + r]! * len;
    for (let j = 0; j < len; j++) {
      const v = data[base + j]!;
      (out as unknown as (number | bigint)[])[r * len + j] = big ? (typeof v === "bigint" ? v : BigInt(Math.trunc(v))) : Number(v);
    }
  }
  return out;
}

function evaluateRows(logits: Float32Array, outLen: number, count: number, labels: DatasetArray, rows: Uint32Array, from: number, clip: number) {
  let loss = 0;
  let correct = 0;
  const labLen = rowLength(labels);
  for (let r = 0; r < count; r++) {
    const row = logits.subarray(r * outLen, (r + 1) * outLen);
    const at = rows[from + r]! * labLen;
    let l: number;
    let c: number;
    if (settings.loss === "cross_entropy") {
      const label = Number(labels.data[at]!);
      let max = -Infinity;
      let best = 0;
      for (let i = 0; i < outLen; i++) if (row[i]! > max) { max = row[i]!; best = i; }
      let sum = 0;
      for (let i = 0; i < outLen; i++) sum += Math.exp(row[i]! - max);
      const valid = Number.isInteger(label) && label >= 0 && label < outLen;
      l = valid ? max + Math.log(sum) - row[label]! : clip;
      c = valid && best === label ? 1 : 0;
    } else {
      let total = 0;
      let hits = 0;
      for (let i = 0; i < outLen; i++) {
        const x = row[i]!;
        const y = Number(labels.data[at + i]!);
        total += settings.loss === "mse" ? (x - y) ** 2 : Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
        if (x > 0 === y > 0.5) hits++;
      }
      l = total / outLen;
      c = hits / outLen;
    }
    // Clipping bounds each record's contribution: the sensitivity the noise is scaled to.
    loss += Number.isFinite(l) ? Math.min(Math.max(l, 0), clip) : clip;
    correct += c;
  }
  return { loss, correct };
}

async function handle(msg: MetricsRequest): Promise<MetricsReply> {
  const session = await ort.InferenceSession.create(new Uint8Array(msg.model), {
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    enableProfiling: false,
    logSeverityLevel: 3,
  });
  try {
    const output = settings.output ?? session.outputNames[0]!;
    const types = new Map(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : "unknown"]));
    let clippedLossSum = 0;
    let correctSum = 0;
    for (let from = 0; from < msg.indices.length; from += settings.maxBatchSize) {
      const count = Math.min(settings.maxBatchSize, msg.indices.length - from);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, array] of Object.entries(settings.inputs)) {
        const dtype = types.get(name) ?? array.dtype;
        feeds[name] = new ort.Tensor(dtype as "float32", gather(array, msg.indices, from, count, dtype) as Float32Array, [count, ...array.shape.slice(1)]);
      }
      const result = await session.run(feeds, [output]);
      const tensor = result[output] as ort.Tensor;
      const logits = tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data as Float64Array);
      const sums = evaluateRows(logits, logits.length / count, count, settings.labels, msg.indices, from, msg.lossClip);
      clippedLossSum += sums.loss;
      correctSum += sums.correct;
    }
    return { id: msg.id, ok: true, clippedLossSum, correctSum, count: msg.indices.length };
  } finally {
    await session.release();
  }
}

port.on("message", (msg: MetricsRequest) => {
  handle(msg).then(
    (reply) => port.postMessage(reply),
    // onnxruntime messages name shapes and nodes, never values.
    (err: unknown) => port.postMessage({ id: msg.id, ok: false, message: err instanceof Error ? err.message : String(err) } satisfies MetricsReply),
  );
});
