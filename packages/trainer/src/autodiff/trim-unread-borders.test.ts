import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { decodeModel } from "../onnx/model-io.js";
import { readInitializers } from "../onnx/initializers.js";
import { attr } from "./attributes.js";
import { buildTrainingGraph } from "./build-training-graph.js";
import { relativeError, runStep } from "./testing/run-step.js";
import { type TinyNode, randn, tinyModel } from "./testing/tiny-model.js";

const n = (op: string, inputs: string[], outputs: string[], attrs: TinyNode["attrs"] = []): TinyNode => ({ op, inputs, outputs, attrs });
const conv = (x: string, w: string, y: string, k: number, s: number, pads: number[]): TinyNode =>
  n("Conv", [x, w], [y], [attr.ints("kernel_shape", [k, k]), attr.ints("strides", [s, s]), attr.ints("pads", pads)]);

/**
 * fmnist_cnn's first layers at a small size: conv (k 4, s 2, pads 2) over 18 x 18 -> tanh ->
 * max pool 2 x 2 stride 1 -> conv (k 4, s 2) reading 8 of the pool's 9 rows, so the first
 * conv's 10th output row and column are not needed. With `spy`, a second reader of the tanh's
 * output that reads every row but adds 0 to the loss (the reference: same loss and gradients,
 * nothing trimmable).
 */
function model(opts: { spy?: boolean; endPad?: number; size?: number } = {}): Uint8Array {
  const end = opts.endPad ?? 2;
  const size = opts.size ?? 18;
  return tinyModel({
    inputs: [{ name: "x", shape: [4, 1, size, size] }],
    params: [
      { name: "w1", shape: [16, 1, 4, 4], data: randn(256, 21, 0.4) },
      { name: "w2", shape: [16, 16, 4, 4], data: randn(4096, 22, 0.1) },
      { name: "fc", shape: [3, 144], data: randn(3 * 144, 23, 0.1) },
    ],
    consts: [{ name: "flat", shape: [2], int64: [0, -1] }, { name: "zero", shape: [], float: Float32Array.of(0) }],
    nodes: [
      conv("x", "w1", "c1", 4, 2, [2, 2, end, end]),
      n("Tanh", ["c1"], ["a1"]),
      n("MaxPool", ["a1"], ["p1"], [attr.ints("kernel_shape", [2, 2])]),
      conv("p1", "w2", "c2", 4, 2, [0, 0, 0, 0]),
      n("Reshape", ["c2", "flat"], ["f"]),
      n("Transpose", ["fc"], ["fcT"], [attr.ints("perm", [1, 0])]),
      n("MatMul", ["f", "fcT"], ["y0"]),
      ...(opts.spy === true
        ? [
          n("ReduceMean", ["a1"], ["all"], [attr.ints("axes", [1, 2, 3])]), n("Reshape", ["all", "flat"], ["per"]),
          n("Mul", ["per", "zero"], ["nothing"]), n("Add", ["y0", "nothing"], ["y"]),
        ]
        : [n("Identity", ["y0"], ["y"])]),
    ],
    output: { name: "y", shape: [4, 3] },
  });
}

function convPads(graph: Uint8Array): number[][] {
  const nodes = decodeModel(graph).graph?.node ?? [];
  return nodes.filter((x) => x.opType === "Conv" && (x.output[0] === "c1" || x.output[0] === "c2")).map((x) => (x.attribute.find((a) => a.name === "pads")?.ints ?? []).map(Number));
}

/** One training step of `m` on a batch of 4 with data `x`. */
async function step(m: Uint8Array, mode: "dp" | "non-private", x: ort.Tensor): Promise<Record<string, ort.Tensor>> {
  const graph = buildTrainingGraph(m, { loss: "cross_entropy", mode });
  const inits = readInitializers(m);
  const feeds: Record<string, ort.Tensor> = {
    x,
    labels: new ort.Tensor("int64", BigInt64Array.of(0n, 2n, 1n, 2n), [4]),
    sample_mask: new ort.Tensor("float32", Float32Array.of(1, 1, 0, 1), [4]),
  };
  if (mode === "dp") feeds["max_grad_norm"] = new ort.Tensor("float32", Float32Array.of(0.3), []);
  for (const p of graph.params) feeds[p.name] = new ort.Tensor("float32", inits.get(p.name)?.data ?? new Float32Array(), [...p.shape]);
  return runStep(graph, feeds);
}

/** The same losses, norms and gradients, up to float rounding. */
function assertSameOutputs(got: Record<string, ort.Tensor>, want: Record<string, ort.Tensor>, what: string): void {
  for (const [name, t] of Object.entries(want)) {
    const err = relativeError(got[name]?.data as Float32Array, t.data as Float32Array);
    assert.ok(err <= 1e-6, `${what} ${name}: relative error ${err}`);
  }
}

describe("unread borders (trim-unread-borders.ts)", () => {
  it("makes only the rows a strided conv reads, with the same losses, norms and gradients", async () => {
    // (18 + 2 + 0 - 4) / 2 + 1 = 9 rows; the pool makes 8, all of which the second conv reads.
    assert.deepEqual(convPads(buildTrainingGraph(model(), { loss: "cross_entropy", mode: "non-private" }).model)[0], [2, 2, 0, 0]);
    assert.deepEqual(convPads(buildTrainingGraph(model({ spy: true }), { loss: "cross_entropy", mode: "non-private" }).model)[0], [2, 2, 2, 2]);
    // Over 16 x 16 with end pad 4: 10 rows, the last unread; one stride (2 pad rows) less.
    assert.deepEqual(convPads(buildTrainingGraph(model({ size: 16, endPad: 4 }), { loss: "cross_entropy", mode: "non-private" }).model)[0], [2, 2, 2, 2]);
    const x = new ort.Tensor("float32", randn(4 * 18 * 18, 25), [4, 1, 18, 18]);
    for (const mode of ["non-private", "dp"] as const) assertSameOutputs(await step(model(), mode, x), await step(model({ spy: true }), mode, x), mode);
  });

  it("trims 1-D convolutions and stride-1 average pools the same way", async () => {
    // Conv1d (k 3, s 2, pads 1 and 3), relu, AveragePool 2 (stride 1), Conv1d (k 3, s 2).
    const oneD = (spy: boolean): Uint8Array => tinyModel({
      inputs: [{ name: "x", shape: [4, 2, 20] }],
      params: [{ name: "w1", shape: [8, 2, 3], data: randn(48, 31, 0.5) }, { name: "w2", shape: [8, 8, 3], data: randn(192, 32, 0.3) }, { name: "fc", shape: [3, 32], data: randn(96, 33, 0.2) }],
      consts: [{ name: "flat", shape: [2], int64: [0, -1] }, { name: "zero", shape: [], float: Float32Array.of(0) }],
      nodes: [
        n("Conv", ["x", "w1"], ["c1"], [attr.ints("kernel_shape", [3]), attr.ints("strides", [2]), attr.ints("pads", [1, 3])]),
        n("Relu", ["c1"], ["a1"]),
        n("AveragePool", ["a1"], ["p1"], [attr.ints("kernel_shape", [2])]),
        n("Conv", ["p1", "w2"], ["c2"], [attr.ints("kernel_shape", [3]), attr.ints("strides", [2]), attr.ints("pads", [0, 0])]),
        n("Reshape", ["c2", "flat"], ["f"]),
        n("Transpose", ["fc"], ["fcT"], [attr.ints("perm", [1, 0])]),
        n("MatMul", ["f", "fcT"], ["y0"]),
        ...(spy
          ? [n("ReduceMean", ["a1"], ["all"], [attr.ints("axes", [1, 2])]), n("Reshape", ["all", "flat"], ["per"]), n("Mul", ["per", "zero"], ["nothing"]), n("Add", ["y0", "nothing"], ["y"])]
          : [n("Identity", ["y0"], ["y"])]),
      ],
      output: { name: "y", shape: [4, 3] },
    });
    // (20 + 1 + 3 - 3) / 2 + 1 = 11 rows, pooled to 10; the second conv makes 4 and reads 9,
    // so the first conv's end pad drops by one stride: 10 rows, pooled to the 9 read.
    assert.deepEqual(convPads(buildTrainingGraph(oneD(false), { loss: "cross_entropy", mode: "non-private" }).model)[0], [1, 1]);
    assert.deepEqual(convPads(buildTrainingGraph(oneD(true), { loss: "cross_entropy", mode: "non-private" }).model)[0], [1, 3]);
    const x = new ort.Tensor("float32", randn(4 * 40, 34), [4, 2, 20]);
    assertSameOutputs(await step(oneD(false), "dp", x), await step(oneD(true), "dp", x), "dp");
  });

  it("keeps the rows where an op on the way mixes positions, or its end pad is too small to lower", () => {
    const groupNorm = [
      n("Reshape", ["a1", "groups"], ["r1"]),
      n("InstanceNormalization", ["r1", "gamma4", "beta4"], ["i1"], [attr.float("epsilon", 1e-5)]),
      n("Reshape", ["i1", "back"], ["m1"]),
    ];
    const withNorm = tinyModel({
      inputs: [{ name: "x", shape: [4, 1, 18, 18] }],
      params: [{ name: "w1", shape: [16, 1, 4, 4], data: randn(256, 21, 0.4) }, { name: "w2", shape: [16, 16, 4, 4], data: randn(4096, 22, 0.1) }],
      consts: [
        { name: "groups", shape: [3], int64: [0, 4, -1] }, { name: "back", shape: [4], int64: [0, 16, 10, 10] },
        { name: "gamma4", shape: [4], float: new Float32Array(4).fill(1) }, { name: "beta4", shape: [4], float: new Float32Array(4) },
      ],
      nodes: [
        conv("x", "w1", "c1", 4, 2, [2, 2, 2, 2]), n("Tanh", ["c1"], ["a1"]), ...groupNorm,
        n("MaxPool", ["m1"], ["p1"], [attr.ints("kernel_shape", [2, 2])]), conv("p1", "w2", "c2", 4, 2, [0, 0, 0, 0]),
        n("ReduceMean", ["c2"], ["y"], [attr.ints("axes", [2, 3]), attr.int("keepdims", 0)]),
      ],
      output: { name: "y", shape: [4, 16] },
    });
    assert.deepEqual(convPads(buildTrainingGraph(withNorm, { loss: "cross_entropy", mode: "non-private" }).model)[0], [2, 2, 2, 2]);
    // Over 19 x 19 with end pad 1: 10 rows, one unread, but dropping it takes 2 fewer pad rows.
    assert.deepEqual(convPads(buildTrainingGraph(model({ endPad: 1, size: 19 }), { loss: "cross_entropy", mode: "non-private" }).model)[0], [2, 2, 1, 1]);
  });

  it("trims further up when a trimmed conv then reads fewer rows itself", () => {
    // a (k 3, s 1, pads 1) makes 9 rows, b (k 3, s 2, pads 1 and 2) 5, and c (k 2, s 2) reads
    // 4 of them: b's end pad goes to 0, b then makes 4 rows and reads 8 of a's 9, and a's end
    // pad goes to 0 in the next round.
    const chain = tinyModel({
      inputs: [{ name: "x", shape: [2, 1, 9, 9] }],
      params: [{ name: "wa", shape: [16, 1, 3, 3] }, { name: "wb", shape: [16, 16, 3, 3] }, { name: "wc", shape: [16, 16, 2, 2] }],
      nodes: [
        conv("x", "wa", "a", 3, 1, [1, 1, 1, 1]), n("Relu", ["a"], ["ra"]),
        conv("ra", "wb", "b", 3, 2, [1, 1, 2, 2]), n("Relu", ["b"], ["rb"]),
        conv("rb", "wc", "c", 2, 2, [0, 0, 0, 0]),
        n("ReduceMean", ["c"], ["y"], [attr.ints("axes", [2, 3]), attr.int("keepdims", 0)]),
      ],
      output: { name: "y", shape: [2, 16] },
    });
    const nodes = decodeModel(buildTrainingGraph(chain, { loss: "cross_entropy", mode: "non-private" }).model).graph?.node ?? [];
    const padsOf = (out: string): number[] => (nodes.find((x) => x.output[0] === out)?.attribute.find((a) => a.name === "pads")?.ints ?? []).map(Number);
    assert.deepEqual(padsOf("b"), [1, 1, 0, 0]);
    assert.deepEqual(padsOf("a"), [1, 1, 0, 0]);
  });
});
