import assert from "node:assert/strict";
import { test } from "node:test";
import * as ort from "onnxruntime-node";
import { readInitializers } from "../onnx/initializers.js";
import { decodeModel } from "../onnx/model-io.js";
import { buildTrainingGraph } from "./build-training-graph.js";
import { relativeError, runStep } from "./testing/run-step.js";
import { randn, tinyModel } from "./testing/tiny-model.js";

// 64 samples x 64 tokens = 4096 rows of width 256 (> 128) against W [256, 8]: large enough
// for the pass to block the forward product and the input gradient of the second MatMul.
const B = 64;
const model = tinyModel({
  opset: 17,
  inputs: [{ name: "x", shape: [B, 64, 256] }],
  params: [{ name: "w1", shape: [256, 256], data: randn(65536, 3, 0.06) }, { name: "w2", shape: [256, 8], data: randn(2048, 4, 0.06) }],
  nodes: [
    { op: "MatMul", inputs: ["x", "w1"], outputs: ["h"] },
    { op: "Tanh", inputs: ["h"], outputs: ["t"] },
    { op: "MatMul", inputs: ["t", "w2"], outputs: ["y"] },
  ],
  output: { name: "y", shape: [B, 64, 8] },
});

async function step(mode: "dp" | "non-private", physicalBatchSize?: number): Promise<{ names: string[]; out: Record<string, ort.Tensor> }> {
  const graph = buildTrainingGraph(model, { loss: "mse", mode, ...(physicalBatchSize ? { physicalBatchSize } : {}) });
  const init = readInitializers(model);
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor("float32", randn(B * 64 * 256, 7), [B, 64, 256]),
    labels: new ort.Tensor("float32", randn(B * 64 * 8, 8), [B, 64, 8]),
    sample_mask: new ort.Tensor("float32", new Float32Array(B).fill(1), [B]),
  };
  if (mode === "dp") feeds["max_grad_norm"] = new ort.Tensor("float32", Float32Array.of(0.5), []);
  for (const p of graph.params) feeds[p.name] = new ort.Tensor("float32", Float32Array.from(init.get(p.name)!.data), [...p.shape]);
  const out = await runStep(graph, feeds);
  return { names: decodeModel(graph.model).graph!.node.map((n) => n.name), out };
}

for (const mode of ["non-private", "dp"] as const) {
  test(`${mode}: a graph built for its physical batch blocks large products and computes the same step`, async () => {
    const plain = await step(mode);
    const blocked = await step(mode, B);
    assert.ok(!plain.names.some((n) => n.includes("row_blocks")), "no blocking without a physical batch size");
    const blocks = blocked.names.filter((n) => n.includes("row_blocks") && /\/MatMul_\d+$/.test(n));
    assert.ok(blocks.length >= 2, `the forward product and an input gradient are blocked, got ${blocks.join(", ")}`);
    for (const k of Object.keys(plain.out)) {
      const err = relativeError(blocked.out[k]!.data as Float32Array, plain.out[k]!.data as Float32Array);
      assert.ok(err < 1e-5, `${k}: relative error ${err}`);
    }
  });
}

test("a graph built for one physical batch size refuses another at run time", async () => {
  const graph = buildTrainingGraph(model, { loss: "mse", mode: "non-private", physicalBatchSize: B });
  const session = await ort.InferenceSession.create(graph.model);
  const init = readInitializers(model);
  const n = B - 8;
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor("float32", new Float32Array(n * 64 * 256), [n, 64, 256]),
    labels: new ort.Tensor("float32", new Float32Array(n * 64 * 8), [n, 64, 8]),
    sample_mask: new ort.Tensor("float32", new Float32Array(n), [n]),
  };
  for (const p of graph.params) feeds[p.name] = new ort.Tensor("float32", Float32Array.from(init.get(p.name)!.data), [...p.shape]);
  await assert.rejects(session.run(feeds));
  await session.release();
});
