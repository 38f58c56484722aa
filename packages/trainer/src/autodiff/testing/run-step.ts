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

/** The relative error of a whole tensor, as the trainer's start-up kernel check measures it. */
export { relativeDifference as relativeError } from "../../training/kernel-check.js";
