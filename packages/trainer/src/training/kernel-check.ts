import * as ort from "onnxruntime-node";
import type { TrainingGraph } from "../autodiff/build-training-graph.js";
import { decodeModel } from "../onnx/model-io.js";
import { OnnxDataType } from "../onnx/tensor-data.js";
import { sampleStandardNormal } from "./gaussian-noise.js";
import { createSeededRandom } from "./random-source.js";

/**
 * Which kernels a trainer's graph runs on: onnxruntime's NCHWc convolutions for this machine's
 * block, or the portable graph (plain ONNX ops), with why when the NCHWc one was set aside.
 */
export type TrainerKernels =
  | { readonly kind: "nchwc"; readonly block: number }
  | { readonly kind: "portable"; readonly reason: string };

/** Largest relative difference of any output accepted between the two graphs (float32 sums in another order). */
export const KERNEL_AGREEMENT = 1e-3;

/**
 * The largest relative difference, over every output (losses, norms, gradients), between a
 * graph lowered to NCHWc kernels and the portable graph of the same step, run once on the same
 * synthetic batch of `rows` rows (seeded normals for float inputs, ones for integer inputs,
 * class 0 or zeros for labels, one masked row) with the weights `params`; Infinity when either
 * run fails or gives NaN.
 *
 * Why: the lowered graph lays tensors out in MLAS's channel block, which the graph must match
 * exactly; a graph built for another block runs without error and gives wrong gradients, and the
 * test suite only exercises the block of the machine it runs on. One run of each at start-up
 * turns that into a check on every machine.
 */
export async function portableDifference(lowered: TrainingGraph, portable: TrainingGraph, params: readonly Float32Array[], rows: number): Promise<number> {
  const feeds = syntheticFeeds(lowered, params, rows);
  const run = async (graph: TrainingGraph): Promise<ort.InferenceSession.OnnxValueMapType> => {
    const session = await ort.InferenceSession.create(graph.model, { intraOpNumThreads: 1, graphOptimizationLevel: "all" });
    try {
      return await session.run(feeds);
    } finally {
      await session.release();
    }
  };
  let a: ort.InferenceSession.OnnxValueMapType, b: ort.InferenceSession.OnnxValueMapType;
  try {
    a = await run(lowered);
    b = await run(portable);
  } catch {
    return Infinity;
  }
  let worst = 0;
  for (const [name, want] of Object.entries(b)) {
    const got = a[name];
    if (got === undefined || got.type !== "float32" || want.type !== "float32") continue;
    worst = Math.max(worst, relativeDifference(got.data as Float32Array, want.data as Float32Array));
  }
  return worst;
}

/** max |a - b| / max(max |b|, tiny) over a whole tensor; Infinity for other lengths or any NaN. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] ?? 0) - (b[i] ?? 0));
    if (Number.isNaN(d)) return Infinity;
    diff = Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i] ?? 0));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Feeds for every input of `graph`: data and labels made up, the given weights. */
function syntheticFeeds(graph: TrainingGraph, params: readonly Float32Array[], rows: number): Record<string, ort.Tensor> {
  const weights = new Map(graph.params.map((p, k) => [p.name, params[k]]));
  const feeds: Record<string, ort.Tensor> = {};
  // Reproducible, and spread enough to tell layouts apart.
  const random = createSeededRandom("kernel-check", "synthetic-batch");
  for (const input of decodeModel(graph.model).graph?.input ?? []) {
    const type = input.type?.value.case === "tensorType" ? input.type.value.value : undefined;
    const dims = (type?.shape?.dim ?? []).map((d) => (d.value.case === "dimValue" ? Number(d.value.value) : rows));
    const size = dims.reduce((n, d) => n * d, 1);
    const weight = weights.get(input.name);
    if (weight !== undefined) feeds[input.name] = new ort.Tensor("float32", weight, dims);
    else if (input.name === "sample_mask") feeds[input.name] = new ort.Tensor("float32", Float32Array.from({ length: size }, (_, i) => (i === size - 1 && size > 1 ? 0 : 1)), dims);
    else if (input.name === "max_grad_norm") feeds[input.name] = new ort.Tensor("float32", Float32Array.of(1), dims);
    else if (type?.elemType === OnnxDataType.INT64) feeds[input.name] = new ort.Tensor("int64", new BigInt64Array(size).fill(input.name === "labels" ? 0n : 1n), dims);
    else if (input.name === "labels") feeds[input.name] = new ort.Tensor("float32", new Float32Array(size), dims);
    else feeds[input.name] = new ort.Tensor("float32", Float32Array.from(sampleStandardNormal(size, random)), dims);
  }
  return feeds;
}
