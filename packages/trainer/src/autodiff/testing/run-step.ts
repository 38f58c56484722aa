import * as ort from "onnxruntime-node";
import type { TrainingGraph } from "../build-training-graph.js";

/** Runs a training-step graph once (test helper); feeds are name -> ort.Tensor. */
export async function runStep(graph: TrainingGraph, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(graph.model, { graphOptimizationLevel: "all" });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** max |a - b| / max(max |b|, tiny): the relative error of a whole tensor. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    scale = Math.max(scale, Math.abs(b[i] ?? 0));
  }
  if (Number.isNaN(diff)) return Infinity;
  return diff / Math.max(scale, 1e-12);
}
