import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { decodeModel } from "../onnx/model-io.js";
import { readInitializers } from "../onnx/initializers.js";
import { attr } from "./attributes.js";
import { buildTrainingGraph } from "./build-training-graph.js";
import { NCHWC_DOMAIN } from "./graph-builder.js";
import { detectNchwcBlockSize } from "./nchwc-block-size.js";
import { relativeError, runStep } from "./testing/run-step.js";
import { type TinyNode, randn, tinyModel } from "./testing/tiny-model.js";

const n = (op: string, inputs: string[], outputs: string[], attrs: TinyNode["attrs"] = []): TinyNode => ({ op, inputs, outputs, attrs });

/**
 * A Tramer-Boneh-like CNN whose channels are multiples of 16 (so any NCHWc block of 8 or 16
 * applies): a 1-channel conv (NCHW input, OIHWBo filter) with tanh, a stride-1 max pool, a
 * strided conv whose kernel the stride divides (polyphase input gradient), with begin pads and
 * an unread last row (crop and zero-extension of the transposed convolution), relu (ties at 0
 * in the next max pool), a 3x2 max pool, and a linear head.
 */
function cnn(): Uint8Array {
  return tinyModel({
    inputs: [{ name: "x", shape: [4, 1, 16, 16] }],
    params: [
      { name: "w1", shape: [16, 1, 4, 4], data: randn(256, 1, 0.4) }, { name: "b1", shape: [16] },
      { name: "w2", shape: [32, 16, 4, 4], data: randn(8192, 2, 0.1) }, { name: "b2", shape: [32] },
      { name: "w3", shape: [32, 16, 2, 2], data: randn(2048, 3, 0.2) },
      { name: "fc", shape: [5, 96], data: randn(5 * 96, 4, 0.2) }, { name: "fcb", shape: [5] },
    ],
    consts: [{ name: "flat", shape: [2], int64: [0, -1] }],
    nodes: [
      n("Conv", ["x", "w1", "b1"], ["c1"], [attr.ints("kernel_shape", [4, 4]), attr.ints("strides", [2, 2]), attr.ints("pads", [2, 2, 2, 2])]),
      n("Tanh", ["c1"], ["a1"]),
      n("MaxPool", ["a1"], ["p1"], [attr.ints("kernel_shape", [2, 2])]),
      n("Conv", ["p1", "w2", "b2"], ["c2"], [attr.ints("kernel_shape", [4, 4]), attr.ints("strides", [2, 2]), attr.ints("pads", [1, 1, 0, 0])]),
      n("Relu", ["c2"], ["a2"]),
      n("MaxPool", ["a2"], ["p2"], [attr.ints("kernel_shape", [3, 2])]),
      n("Reshape", ["p2", "flat"], ["f2"]),
      n("Conv", ["p1", "w3"], ["c3"], [attr.ints("kernel_shape", [2, 2]), attr.ints("strides", [2, 2]), attr.ints("pads", [0, 0, 0, 0])]),
      n("Sigmoid", ["c3"], ["a3"]),
      n("GlobalAveragePool", ["a3"], ["g3"]),
      n("Reshape", ["g3", "flat"], ["f3"]),
      n("Concat", ["f2", "f3"], ["f"], [attr.int("axis", 1)]),
      n("Gemm", ["f", "fc", "fcb"], ["y"], [attr.int("transB", 1)]),
    ],
    output: { name: "y", shape: [4, 5] },
  });
}

/**
 * fmnist_cnn's shape at a smaller size: each pooled map feeds one strided conv only, so the
 * pool gradient's zero-extension merges into the conv input gradient's Pad, the second conv's
 * weight gradient takes the blocked GEMM path, and the Tanh and Sigmoid derivatives are applied
 * on the pools' output grids.
 */
function tramerBoneh(): Uint8Array {
  return tinyModel({
    inputs: [{ name: "x", shape: [4, 1, 16, 16] }],
    params: [
      { name: "w1", shape: [16, 1, 8, 8], data: randn(1024, 5, 0.2) }, { name: "b1", shape: [16] },
      { name: "w2", shape: [32, 16, 4, 4], data: randn(8192, 6, 0.1) }, { name: "b2", shape: [32] },
      { name: "fc", shape: [5, 32], data: randn(5 * 32, 7, 0.2) }, { name: "fcb", shape: [5] },
    ],
    consts: [{ name: "flat", shape: [2], int64: [0, -1] }],
    nodes: [
      n("Conv", ["x", "w1", "b1"], ["c1"], [attr.ints("kernel_shape", [8, 8]), attr.ints("strides", [2, 2]), attr.ints("pads", [3, 3, 3, 3])]),
      n("Tanh", ["c1"], ["a1"]),
      n("MaxPool", ["a1"], ["p1"], [attr.ints("kernel_shape", [2, 2])]),
      n("Conv", ["p1", "w2", "b2"], ["c2"], [attr.ints("kernel_shape", [4, 4]), attr.ints("strides", [2, 2])]),
      n("Sigmoid", ["c2"], ["a2"]),
      n("MaxPool", ["a2"], ["p2"], [attr.ints("kernel_shape", [2, 2])]),
      n("Reshape", ["p2", "flat"], ["f"]),
      n("Gemm", ["f", "fc", "fcb"], ["y"], [attr.int("transB", 1)]),
    ],
    output: { name: "y", shape: [4, 5] },
  });
}

/**
 * A dilated conv over 16 channels (the weight gradient's Conv then strides by the dilation) and
 * a strided one whose last input rows are never read, both with Cin a multiple of the block.
 */
function dilated(): Uint8Array {
  return tinyModel({
    inputs: [{ name: "x", shape: [4, 1, 16, 16] }],
    params: [
      { name: "w1", shape: [16, 1, 3, 3], data: randn(144, 11, 0.4) }, { name: "b1", shape: [16] },
      { name: "w2", shape: [16, 16, 3, 3], data: randn(2304, 12, 0.1) }, { name: "b2", shape: [16] },
      { name: "w3", shape: [32, 16, 3, 3], data: randn(4608, 13, 0.1) }, { name: "b3", shape: [32] },
      { name: "fc", shape: [5, 32], data: randn(5 * 32, 14, 0.2) }, { name: "fcb", shape: [5] },
    ],
    consts: [{ name: "flat", shape: [2], int64: [0, -1] }],
    nodes: [
      n("Conv", ["x", "w1", "b1"], ["c1"], [attr.ints("kernel_shape", [3, 3]), attr.ints("pads", [1, 1, 1, 1])]),
      n("Relu", ["c1"], ["a1"]),
      n("Conv", ["a1", "w2", "b2"], ["c2"], [attr.ints("kernel_shape", [3, 3]), attr.ints("dilations", [2, 2]), attr.ints("pads", [2, 1, 2, 1])]),
      n("Tanh", ["c2"], ["a2"]),
      n("Conv", ["a2", "w3", "b3"], ["c3"], [attr.ints("kernel_shape", [3, 3]), attr.ints("strides", [2, 2])]),
      n("GlobalAveragePool", ["c3"], ["g3"]),
      n("Reshape", ["g3", "flat"], ["f"]),
      n("Gemm", ["f", "fc", "fcb"], ["y"], [attr.int("transB", 1)]),
    ],
    output: { name: "y", shape: [4, 5] },
  });
}

async function step(model: Uint8Array, mode: "dp" | "non-private", block: number | undefined, physicalBatchSize?: number, batch = 4): Promise<Record<string, ort.Tensor>> {
  const graph = buildTrainingGraph(model, { loss: "cross_entropy", mode, ...(block !== undefined ? { nchwcBlockSize: block } : {}), ...(physicalBatchSize !== undefined ? { physicalBatchSize } : {}) });
  const inits = readInitializers(model);
  const feeds: Record<string, ort.Tensor> = {
    // Rounded inputs: equal values in a pool window exercise the first-maximum rule.
    x: new ort.Tensor("float32", randn(batch * 256, 9).map((v) => Math.round(v * 2) / 2), [batch, 1, 16, 16]),
    labels: new ort.Tensor("int64", BigInt64Array.from({ length: batch }, (_, i) => BigInt([0, 3, 1, 4][i % 4] ?? 0)), [batch]),
    sample_mask: new ort.Tensor("float32", Float32Array.from({ length: batch }, (_, i) => (i % 4 === 2 ? 0 : 1)), [batch]),
  };
  if (mode === "dp") feeds["max_grad_norm"] = new ort.Tensor("float32", Float32Array.of(0.5), []);
  for (const p of graph.params) feeds[p.name] = new ort.Tensor("float32", inits.get(p.name)?.data ?? new Float32Array(), [...p.shape]);
  return runStep(graph, feeds);
}

/** The graph as the trainer builds it for a physical batch of `batch` rows against the plain graph. */
async function assertSameAsPlain(model: Uint8Array, mode: "dp" | "non-private", block: number, batch: number): Promise<void> {
  const plain = await step(model, mode, undefined, undefined, batch);
  const trainer = await step(model, mode, block, batch, batch);
  for (const [name, t] of Object.entries(plain)) {
    const err = relativeError(trainer[name]?.data as Float32Array, t.data as Float32Array);
    assert.ok(err <= 1e-5, `${mode} physical batch ${batch} ${name}: relative error ${err}`);
  }
}

describe("NCHWc lowering (nchwcBlockSize)", () => {
  it("gives the same losses, norms and gradients as the plain graph", async () => {
    const block = await detectNchwcBlockSize();
    for (const [model, mode] of [cnn(), tramerBoneh()].flatMap((m) => (["non-private", "dp"] as const).map((d) => [m, d] as const))) {
      const lowered = decodeModel(buildTrainingGraph(model, { loss: "cross_entropy", mode, nchwcBlockSize: block ?? 16 }).model);
      const ops = new Set((lowered.graph?.node ?? []).filter((x) => x.domain === NCHWC_DOMAIN).map((x) => x.opType));
      assert.ok(ops.has("Conv") && ops.has("MaxPool"), `${mode}: NCHWc ops ${[...ops].join(", ")}`);
      // Without NCHWc kernels on this machine the lowered graph cannot run; the structure above is all that can be checked.
      if (block === undefined) continue;
      const plain = await step(model, mode, undefined);
      const fast = await step(model, mode, block);
      // As the trainer builds it: also for its physical batch (grouped per-sample conv1 gradients in DP).
      const trainer = await step(model, mode, block, 4);
      for (const [name, t] of Object.entries(plain)) {
        for (const [what, out] of [["nchwc", fast], ["nchwc + physical batch", trainer]] as const) {
          const err = relativeError(out[name]?.data as Float32Array, t.data as Float32Array);
          assert.ok(err <= 1e-5, `${mode} ${what} ${name}: relative error ${err}`);
        }
      }
    }
  });

  it("runs and gives the same gradients with a physical batch above the block but not a multiple of it", async () => {
    // onnxruntime's NchwcConv refuses such a channel count: the grouped per-sample Convs
    // (samples as channels) must fall back to the plain Conv.
    const block = await detectNchwcBlockSize();
    if (block === undefined) return;
    const odd = block + 4;
    for (const [model, mode] of [cnn(), tramerBoneh(), dilated()].flatMap((m) => (["non-private", "dp"] as const).map((d) => [m, d] as const))) {
      await assertSameAsPlain(model, mode, block, odd);
    }
  });

  it("gives the same gradients with the max-pool gradient chunked by a Scan (batch 352)", async () => {
    const block = await detectNchwcBlockSize();
    if (block === undefined) return;
    // The first pool's input is 7 x 7 (its 8th row and column are never read, so not made):
    // 352 x 7 x 7 x 16 floats, enough for two chunks.
    const batch = 352;
    for (const mode of ["non-private", "dp"] as const) {
      const graph = decodeModel(buildTrainingGraph(tramerBoneh(), { loss: "cross_entropy", mode, nchwcBlockSize: block, physicalBatchSize: batch }).model);
      assert.ok((graph.graph?.node ?? []).some((x) => x.opType === "Scan" && x.name.includes("MaxPool")), `${mode}: the first pool's gradient runs in a Scan`);
      await assertSameAsPlain(tramerBoneh(), mode, block, batch);
    }
  });

  it("gives the same gradients with a physical batch that is a multiple of the block", async () => {
    // Then the convs' weight gradients are blocked Convs over the samples (nchwc-samples-weight-grad.ts).
    const block = await detectNchwcBlockSize();
    if (block === undefined) return;
    const wide = 2 * block;
    for (const [model, mode] of [cnn(), tramerBoneh(), dilated()].flatMap((m) => (["non-private", "dp"] as const).map((d) => [m, d] as const))) {
      const graph = decodeModel(buildTrainingGraph(model, { loss: "cross_entropy", mode, nchwcBlockSize: block, physicalBatchSize: wide }).model);
      const dilatedConvs = (graph.graph?.node ?? []).filter((x) => x.domain === NCHWC_DOMAIN && x.opType === "Conv" && x.attribute.some((a) => a.name === "dilations" && a.ints.some((d) => d > 1n)));
      if (mode === "non-private") assert.ok(dilatedConvs.length >= 2, `weight-gradient Convs over the samples: ${dilatedConvs.length}`);
      await assertSameAsPlain(model, mode, block, wide);
    }
  });

  it("routes tied maxima to the first maximum, as the plain graph", async () => {
    // Ties in a pool's input after tanh or relu fall where the activation's derivative is zero
    // (saturation, 0) or between inputs with the same receptive field, so the CNNs above
    // cannot tell a wrong tie rule; here x * p0 on values in {0, 1, 2} ties in most windows
    // along both axes, and dL/dp0 = x * dL/dh shows where each window's gradient went.
    const block = await detectNchwcBlockSize();
    if (block === undefined) return;
    for (const kernel of [[2, 2], [3, 2], [2, 3]]) {
      const [kh = 0, kw = 0] = kernel;
      const model = tinyModel({
        inputs: [{ name: "x", shape: [4, 16, 7, 7] }],
        params: [{ name: "p0", shape: [16, 7, 7], data: new Float32Array(16 * 49).fill(1) }],
        nodes: [n("Mul", ["x", "p0"], ["h"]), n("MaxPool", ["h"], ["y"], [attr.ints("kernel_shape", kernel)])],
        output: { name: "y", shape: [4, 16, 8 - kh, 8 - kw] },
      });
      const out = [4, 16, 8 - kh, 8 - kw];
      const feeds = {
        x: new ort.Tensor("float32", randn(4 * 16 * 49, 11).map((v) => Math.min(2, Math.max(0, Math.round(v + 1)))), [4, 16, 7, 7]),
        p0: new ort.Tensor("float32", new Float32Array(16 * 49).fill(1), [16, 7, 7]),
        labels: new ort.Tensor("float32", randn(out.reduce((a, c) => a * c, 1), 12), out),
        sample_mask: new ort.Tensor("float32", new Float32Array(4).fill(1), [4]),
      };
      const plain = await runStep(buildTrainingGraph(model, { loss: "mse", mode: "non-private" }), feeds);
      const blocked = await runStep(buildTrainingGraph(model, { loss: "mse", mode: "non-private", nchwcBlockSize: block }), feeds);
      const err = relativeError(blocked["grad:p0"]?.data as Float32Array, plain["grad:p0"]?.data as Float32Array);
      assert.ok(err <= 1e-6, `kernel ${kernel.join("x")}: relative error ${err}`);
    }
  });

  it("refuses a block size that is not a power of two", () => {
    assert.throws(() => buildTrainingGraph(cnn(), { loss: "cross_entropy", mode: "dp", nchwcBlockSize: 12 }), { code: "invalid-argument" });
  });

  it("detects onnxruntime's block size", async () => {
    const block = await detectNchwcBlockSize();
    // x64 MLAS: 8 (AVX2) or 16 (AVX-512F); elsewhere possibly none.
    assert.ok(block === undefined || block === 8 || block === 16, `block ${block}`);
    if (process.arch === "x64") assert.ok(block === 8 || block === 16, `x64 block ${block}`);
  });
});
