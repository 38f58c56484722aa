import assert from "node:assert/strict";
import { test } from "node:test";
import * as ort from "onnxruntime-node";
import { readInitializers } from "../onnx/initializers.js";
import { decodeModel } from "../onnx/model-io.js";
import { attr } from "./attributes.js";
import { buildTrainingGraph } from "./build-training-graph.js";
import { relativeError, runStep } from "./testing/run-step.js";
import { randn, type TinyModelSpec, tinyModel } from "./testing/tiny-model.js";

const B = 5;

/** The DP graph's outputs with and without a physical batch size (grouped vs im2col per-sample gradients). */
async function both(spec: TinyModelSpec, x: readonly number[], y: readonly number[]): Promise<{ grouped: Record<string, ort.Tensor>; plain: Record<string, ort.Tensor>; groups: number[] }> {
  const model = tinyModel(spec);
  const init = readInitializers(model);
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor("float32", randn(x.reduce((a, c) => a * c, 1), 21), [...x]),
    labels: new ort.Tensor("float32", randn(y.reduce((a, c) => a * c, 1), 22), [...y]),
    sample_mask: new ort.Tensor("float32", Float32Array.from({ length: B }, (_, i) => (i === 3 ? 0 : 1)), [B]),
    // Small enough that some samples are clipped.
    max_grad_norm: new ort.Tensor("float32", Float32Array.of(0.5), []),
  };
  const run = async (physicalBatchSize?: number) => {
    const graph = buildTrainingGraph(model, { loss: "mse", mode: "dp", ...(physicalBatchSize ? { physicalBatchSize } : {}) });
    for (const p of graph.params) feeds[p.name] = new ort.Tensor("float32", Float32Array.from(init.get(p.name)!.data), [...p.shape]);
    const out = await runStep(graph, feeds);
    const groups = decodeModel(graph.model).graph!.node.filter((n) => n.opType === "Conv").map((n) => Number(n.attribute.find((a) => a.name === "group")?.i ?? 1n));
    return { out, groups };
  };
  const grouped = await run(B);
  const plain = await run();
  return { grouped: grouped.out, plain: plain.out, groups: grouped.groups };
}

function assertClose(a: Record<string, ort.Tensor>, b: Record<string, ort.Tensor>): void {
  for (const k of Object.keys(b)) {
    const err = relativeError(a[k]!.data as Float32Array, b[k]!.data as Float32Array);
    assert.ok(err <= 1e-5, `${k}: relative error ${err}`);
  }
}

test("a one-channel strided, padded Conv's per-sample gradients as one grouped Conv match the im2col route", async () => {
  const spec: TinyModelSpec = {
    opset: 17,
    inputs: [{ name: "x", shape: [B, 1, 12, 12] }],
    params: [{ name: "w", shape: [4, 1, 4, 4] }, { name: "bias", shape: [4] }],
    nodes: [{ op: "Conv", inputs: ["x", "w", "bias"], outputs: ["y"], attrs: [attr.ints("kernel_shape", [4, 4]), attr.ints("strides", [2, 2]), attr.ints("pads", [1, 1, 2, 2])] }],
    output: { name: "y", shape: [B, 4, 6, 6] },
  };
  const r = await both(spec, [B, 1, 12, 12], [B, 4, 6, 6]);
  assert.ok(r.groups.includes(B), `a Conv with one group per sample, got groups ${r.groups.join(", ")}`);
  assertClose(r.grouped, r.plain);
});

test("a depthwise Conv (one input channel per group) takes the grouped route too, and matches", async () => {
  const spec: TinyModelSpec = {
    opset: 17,
    inputs: [{ name: "x", shape: [B, 3, 9, 9] }],
    params: [{ name: "w", shape: [6, 1, 3, 3] }],
    nodes: [{ op: "Conv", inputs: ["x", "w"], outputs: ["y"], attrs: [attr.ints("kernel_shape", [3, 3]), attr.int("group", 3)] }],
    output: { name: "y", shape: [B, 6, 7, 7] },
  };
  const r = await both(spec, [B, 3, 9, 9], [B, 6, 7, 7]);
  assert.ok(r.groups.includes(B * 3), `a Conv with B * C groups, got ${r.groups.join(", ")}`);
  assertClose(r.grouped, r.plain);
});
