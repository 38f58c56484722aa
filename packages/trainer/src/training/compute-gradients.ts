import * as ort from "onnxruntime-node";
import { buildTrainingGraph } from "../autodiff/build-training-graph.js";
import { readInitializers } from "../onnx/initializers.js";
import { TrainerError } from "../trainer-error.js";
import { BatchBuffers, checkLabels, prepareDataset, type TrainingDataset } from "./dataset.js";
import type { TrainingLoss } from "./training-types.js";

/** Options of {@link computeGradients}. */
export interface ComputeGradientsOptions {
  /** The ONNX inference model, bytes. */
  readonly model: Uint8Array;
  /** One batch: an array per model input plus `labels`. */
  readonly batch: TrainingDataset;
  readonly loss: TrainingLoss;
  /** Clipping norm C > 0; default 1. Use Infinity for the unclipped sum. */
  readonly maxGradNorm?: number;
  readonly output?: string;
  readonly frozen?: readonly string[];
}

/** Per-sample losses and gradient norms, and the clipped gradient sum of one batch (no noise). */
export interface GradientReport {
  readonly losses: Float32Array;
  readonly perSampleGradNorms: Float32Array;
  /** L2 norm over all parameters of the clipped gradient sum. */
  readonly clippedGradSumNorm: number;
  readonly params: readonly { readonly name: string; readonly shape: readonly number[] }[];
  /** The clipped gradient sum of each parameter. */
  readonly clippedGradSums: ReadonlyMap<string, Float32Array>;
}

/**
 * Runs the DP training graph once on a batch with the model's current weights, for inspection
 * and cross-checks (`sanctum grads`). Runs onnxruntime on the calling thread: fine for a CLI,
 * while a server uses createTrainer, which runs in a worker.
 */
export async function computeGradients(options: ComputeGradientsOptions): Promise<GradientReport> {
  const maxGradNorm = options.maxGradNorm ?? 1;
  if (!(maxGradNorm > 0)) throw new TrainerError("invalid-argument", `maxGradNorm must be > 0 (Infinity for no clipping), got ${maxGradNorm}`);
  // The portable graph: one run gains nothing from NCHWc kernels, and this is the cross-check tool.
  const graph = buildTrainingGraph(options.model, {
    loss: options.loss,
    mode: "dp",
    ...(options.output === undefined ? {} : { output: options.output }),
    ...(options.frozen === undefined ? {} : { frozen: options.frozen }),
  });
  const data = prepareDataset(options.batch, graph.dataInputs, options.loss, "train");
  const n = data.size;
  const buffers = new BatchBuffers(data, n);
  buffers.fill(data, Uint32Array.from({ length: n }, (_, i) => i));
  const feeds: Record<string, ort.Tensor> = {};
  data.inputs.forEach((a, k) => {
    feeds[a.name] = new ort.Tensor(a.dtype as "float32", buffers.inputs[k] as Float32Array, [n, ...a.rowShape]);
  });
  feeds["labels"] = new ort.Tensor(data.labels.dtype as "float32", buffers.labels as Float32Array, [n, ...data.labels.rowShape]);
  feeds["sample_mask"] = new ort.Tensor("float32", buffers.mask, [n]);
  feeds["max_grad_norm"] = new ort.Tensor("float32", Float32Array.of(maxGradNorm), []);
  const initial = readInitializers(options.model);
  for (const p of graph.params) feeds[p.name] = new ort.Tensor("float32", initial.get(p.name)!.data, [...p.shape]);
  const session = await ort.InferenceSession.create(graph.model, { intraOpNumThreads: 1, graphOptimizationLevel: "all" });
  try {
    const out = await session.run(feeds);
    const logits = out["logits"] as ort.Tensor;
    checkLabels(data, options.loss, logits.dims.slice(1).map(Number), "train");
    let squared = 0;
    const sums = new Map<string, Float32Array>();
    for (const p of graph.params) {
      const g = (out[`grad:${p.name}`] as ort.Tensor).data as Float32Array;
      sums.set(p.name, g);
      for (const v of g) squared += v * v;
    }
    return {
      losses: (out["losses"] as ort.Tensor).data as Float32Array,
      perSampleGradNorms: (out["per_sample_grad_norms"] as ort.Tensor).data as Float32Array,
      clippedGradSumNorm: Math.sqrt(squared),
      params: graph.params.map((p) => ({ name: p.name, shape: [...p.shape] })),
      clippedGradSums: sums,
    };
  } finally {
    await session.release();
  }
}
