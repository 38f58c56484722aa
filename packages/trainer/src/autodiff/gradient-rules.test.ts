import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { readInitializers } from "../onnx/initializers.js";
import { attr } from "./attributes.js";
import { buildTrainingGraph } from "./build-training-graph.js";
import { decodeModel } from "../onnx/model-io.js";
import { scanChunks } from "./row-chunks.js";
import { checkGradients } from "./testing/gradient-check.js";
import { relativeError, runStep } from "./testing/run-step.js";
import { type TinyModelSpec, type TinyNode, randn, tinyModel } from "./testing/tiny-model.js";

const B = 3;

interface Case {
  readonly name: string;
  /** Shape of the data input x (batch first). */
  readonly x: readonly number[];
  /** Nodes from "h" (= x * p0, p0 shaped like one sample) to "y". */
  readonly nodes: readonly TinyNode[];
  readonly y: readonly number[];
  readonly params?: TinyModelSpec["params"];
  readonly consts?: TinyModelSpec["consts"];
  readonly opset?: number;
  readonly epsilon?: number;
}

const n = (op: string, inputs: string[], outputs: string[], attrs: TinyNode["attrs"] = []): TinyNode => ({ op, inputs, outputs, attrs });
const uniform = (count: number, lo: number, hi: number, seed: number): Float32Array => randn(count, seed).map((v) => lo + (hi - lo) * (0.5 + 0.5 * Math.tanh(v)));
const size = (s: readonly number[]): number => s.reduce((a, c) => a * c, 1);

async function run(c: Case): Promise<void> {
  const spec: TinyModelSpec = {
    opset: c.opset ?? 17,
    inputs: [{ name: "x", shape: c.x }],
    params: [{ name: "p0", shape: c.x.slice(1) }, ...(c.params ?? [])],
    consts: c.consts ?? [],
    nodes: [n("Mul", ["x", "p0"], ["h"]), ...c.nodes],
    output: { name: "y", shape: c.y },
  };
  const model = tinyModel(spec);
  const x = randn(size(c.x), 11);
  const labels = new ort.Tensor("float32", randn(size(c.y), 13), [...c.y]);
  const r = await checkGradients(model, { x: { dtype: "float32", shape: [...c.x], data: x } }, "mse", labels, { epsilon: c.epsilon ?? 1e-2 });
  assert.ok(r.finiteDifferenceError < 2e-2, `${c.name}: finite-difference error ${r.finiteDifferenceError}`);
  assert.ok(r.normError < 1e-4, `${c.name}: per-sample norm error ${r.normError}`);
  assert.ok(r.clippedError < 1e-4, `${c.name}: clipped-sum error ${r.clippedError}`);
}

const unaryOps: [string, TinyNode["attrs"]?, number?][] = [
  ["Relu", [], 1e-3], ["LeakyRelu", [attr.float("alpha", 0.2)], 1e-3], ["Sigmoid"], ["Tanh"], ["Erf"], ["Elu", [attr.float("alpha", 0.7)], 1e-3],
  ["Softplus"], ["Exp"], ["Neg"], ["Abs", [], 1e-3], ["Identity"], ["Softmax", [attr.int("axis", -1)]],
  ["LogSoftmax", [attr.int("axis", 1)]], ["Cast", [attr.int("to", 1)]],
  ["HardSigmoid", [attr.float("alpha", 0.4)], 1e-3], ["HardSwish", [], 1e-3],
];

/** nn.GELU() as torch.onnx exports it: (h * (Erf(h / sqrt2) + 1)) * 0.5. */
const GELU_DIV: TinyNode[] = [n("Div", ["h", "sqrt2"], ["u"]), n("Erf", ["u"], ["e"]), n("Add", ["e", "one"], ["a"]), n("Mul", ["h", "a"], ["m"]), n("Mul", ["m", "half"], ["y"])];
const GELU_CONSTS: TinyModelSpec["consts"] = [
  { name: "sqrt2", shape: [], float: Float32Array.of(Math.SQRT2) },
  { name: "isqrt2", shape: [], float: Float32Array.of(Math.SQRT1_2) },
  { name: "one", shape: [], float: Float32Array.of(1) },
  { name: "half", shape: [], float: Float32Array.of(0.5) },
];

const cases: Case[] = [
  ...unaryOps.map(([op, attrs, eps]): Case => ({ name: op, x: [B, 4, 5], nodes: [n(op, ["h"], ["y"], attrs)], y: [B, 4, 5], ...(eps ? { epsilon: eps } : {}) })),
  { name: "Sqrt/Log/Reciprocal", x: [B, 4], nodes: [n("Mul", ["h", "h"], ["h2"]), n("Add", ["h2", "one"], ["h3"]), n("Sqrt", ["h3"], ["s"]), n("Log", ["h3"], ["l"]), n("Reciprocal", ["h3"], ["r"]), n("Sum", ["s", "l", "r"], ["y"])], y: [B, 4], consts: [{ name: "one", shape: [], float: Float32Array.of(1) }] },
  { name: "Gelu (opset 20, exact and tanh)", opset: 20, x: [B, 6], nodes: [n("Gelu", ["h"], ["a"]), n("Gelu", ["h"], ["t"], [attr.string("approximate", "tanh")]), n("Add", ["a", "t"], ["y"])], y: [B, 6] },
  { name: "GELU as torch.onnx exports it (Div by sqrt2; fused rule)", x: [B, 6], nodes: GELU_DIV, y: [B, 6], consts: GELU_CONSTS },
  { name: "GELU with Mul by 1/sqrt2, operands swapped (fused rule)", x: [B, 6], nodes: [n("Mul", ["isqrt2", "h"], ["u"]), n("Erf", ["u"], ["e"]), n("Add", ["one", "e"], ["a"]), n("Mul", ["a", "h"], ["m"]), n("Mul", ["half", "m"], ["y"])], y: [B, 6], consts: GELU_CONSTS },
  { name: "GELU whose Erf output is used again (not fused)", x: [B, 6], nodes: [...GELU_DIV.slice(0, 4), n("Mul", ["m", "half"], ["g"]), n("Add", ["g", "e"], ["y"])], y: [B, 6], consts: GELU_CONSTS },
  { name: "PRelu", x: [B, 3, 4], nodes: [n("PRelu", ["h", "slope"], ["y"])], y: [B, 3, 4], params: [{ name: "slope", shape: [3, 1] }], epsilon: 1e-3 },
  { name: "Max/Min", x: [B, 5], nodes: [n("Max", ["h", "p1"], ["a"]), n("Min", ["p2", "h"], ["m"]), n("Add", ["a", "m"], ["y"])], y: [B, 5], params: [{ name: "p1", shape: [5] }, { name: "p2", shape: [1] }], epsilon: 1e-3 },
  { name: "Pad (constant, negative crop) and Tile", x: [B, 3, 4], nodes: [n("Pad", ["h", "pads"], ["p"]), n("Tile", ["p", "reps"], ["y"])], y: [B, 10, 3], consts: [{ name: "pads", shape: [6], int64: [0, 1, 0, 0, 1, -1] }, { name: "reps", shape: [3], int64: [1, 2, 1] }] },
  { name: "Clip", x: [B, 6], nodes: [n("Clip", ["h", "lo", "hi"], ["y"])], y: [B, 6], consts: [{ name: "lo", shape: [], float: Float32Array.of(-0.3) }, { name: "hi", shape: [], float: Float32Array.of(0.4) }], epsilon: 1e-3 },
  { name: "Add/Sub broadcast", x: [B, 4, 5], nodes: [n("Add", ["h", "p1"], ["a"]), n("Sub", ["p2", "a"], ["y"])], y: [B, 4, 5], params: [{ name: "p1", shape: [5] }, { name: "p2", shape: [4, 1] }] },
  { name: "Mul/Div broadcast", x: [B, 4, 5], nodes: [n("Mul", ["h", "p1"], ["a"]), n("Div", ["a", "p2"], ["d"]), n("Mul", ["d", "d"], ["d1"]), n("Add", ["d1", "one"], ["d2"]), n("Div", ["p3", "d2"], ["e"]), n("Add", ["d", "e"], ["y"])], y: [B, 4, 5], params: [{ name: "p1", shape: [1, 5] }, { name: "p2", shape: [4, 1], data: uniform(4, 1, 2, 5) }, { name: "p3", shape: [] }], consts: [{ name: "one", shape: [], float: Float32Array.of(1) }] },
  { name: "Pow", x: [B, 5], nodes: [n("Pow", ["h", "two"], ["a"]), n("Sigmoid", ["h"], ["s"]), n("Pow", ["s", "p1"], ["b"]), n("Add", ["a", "b"], ["y"])], y: [B, 5], params: [{ name: "p1", shape: [5], data: uniform(5, 0.5, 2, 3) }], consts: [{ name: "two", shape: [], float: Float32Array.of(2) }] },
  { name: "Where", x: [B, 2, 3], nodes: [n("Where", ["cond", "h", "p1"], ["y"])], y: [B, 2, 3], params: [{ name: "p1", shape: [3] }], consts: [{ name: "cond", shape: [2, 3], bool: [true, false, true, false, false, true] }] },
  { name: "MatMul 2-D + Add (MLP)", x: [B, 6], nodes: [n("MatMul", ["h", "w"], ["a"]), n("Add", ["bias", "a"], ["t"]), n("Tanh", ["t"], ["y"])], y: [B, 4], params: [{ name: "w", shape: [6, 4] }, { name: "bias", shape: [4] }] },
  { name: "MatMul 3-D materialized (T=5)", x: [B, 5, 6], nodes: [n("Transpose", ["w"], ["wt"], [attr.ints("perm", [1, 0])]), n("MatMul", ["h", "wt"], ["y"])], y: [B, 5, 4], params: [{ name: "w", shape: [4, 6] }] },
  { name: "MatMul 3-D ghost (T=2)", x: [B, 2, 16], nodes: [n("MatMul", ["h", "w"], ["y"])], y: [B, 2, 16], params: [{ name: "w", shape: [16, 16] }] },
  { name: "MatMul between activations + Softmax (attention)", x: [B, 4, 6], nodes: [n("MatMul", ["h", "wq"], ["q"]), n("MatMul", ["h", "wk"], ["k"]), n("Transpose", ["k"], ["kt"], [attr.ints("perm", [0, 2, 1])]), n("MatMul", ["q", "kt"], ["s"]), n("Softmax", ["s"], ["p"], [attr.int("axis", -1)]), n("MatMul", ["p", "h"], ["y"])], y: [B, 4, 6], params: [{ name: "wq", shape: [6, 3] }, { name: "wk", shape: [6, 3] }] },
  { name: "Gemm transB + bias", x: [B, 6], nodes: [n("Gemm", ["h", "w", "bias"], ["y"], [attr.int("transB", 1)])], y: [B, 4], params: [{ name: "w", shape: [4, 6] }, { name: "bias", shape: [4] }] },
  { name: "Gemm alpha/beta, bias [1,4]", x: [B, 6], nodes: [n("Gemm", ["h", "w", "bias"], ["g"], [attr.float("alpha", 0.7), attr.float("beta", 1.3)]), n("Sigmoid", ["g"], ["y"])], y: [B, 4], params: [{ name: "w", shape: [6, 4] }, { name: "bias", shape: [1, 4] }] },
  { name: "Gemm on seq-major rows (L*B)", x: [B, 5, 6], nodes: [n("Transpose", ["h"], ["t"], [attr.ints("perm", [1, 0, 2])]), n("Reshape", ["t", "rows"], ["r"]), n("Gemm", ["r", "w", "bias"], ["g"], [attr.int("transB", 1)]), n("Reshape", ["g", "back"], ["gb"]), n("Transpose", ["gb"], ["y"], [attr.ints("perm", [1, 0, 2])])], y: [B, 5, 4], params: [{ name: "w", shape: [4, 6] }, { name: "bias", shape: [4] }], consts: [{ name: "rows", shape: [2], int64: [-1, 6] }, { name: "back", shape: [3], int64: [5, -1, 4] }] },
  { name: "batch merged with heads ([B*2, 2, 6], inner factor 2)", x: [B, 4, 6], nodes: [n("Reshape", ["h", "heads"], ["r"]), n("Mul", ["r", "s"], ["m"]), n("MatMul", ["m", "w"], ["o"]), n("Reshape", ["o", "back"], ["y"])], y: [B, 4, 3], params: [{ name: "s", shape: [2, 6] }, { name: "w", shape: [6, 3] }], consts: [{ name: "heads", shape: [3], int64: [-1, 2, 6] }, { name: "back", shape: [3], int64: [-1, 4, 3] }] },
  { name: "Conv2d stride 2 pad 1 + bias", x: [2, 2, 7, 7], nodes: [n("Conv", ["h", "w", "bias"], ["y"], [attr.ints("kernel_shape", [3, 3]), attr.ints("strides", [2, 2]), attr.ints("pads", [1, 1, 1, 1])])], y: [2, 4, 4, 4], params: [{ name: "w", shape: [4, 2, 3, 3] }, { name: "bias", shape: [4] }] },
  { name: "Conv2d dilation 2 groups 2", x: [2, 2, 7, 7], nodes: [n("Conv", ["h", "w"], ["y"], [attr.ints("kernel_shape", [3, 3]), attr.ints("dilations", [2, 2]), attr.ints("pads", [2, 2, 2, 2]), attr.int("group", 2)])], y: [2, 4, 7, 7], params: [{ name: "w", shape: [4, 1, 3, 3] }] },
  { name: "Conv2d ghost norm (P=4)", x: [2, 8, 4, 4], nodes: [n("Conv", ["h", "w", "bias"], ["y"], [attr.ints("kernel_shape", [3, 3])])], y: [2, 8, 2, 2], params: [{ name: "w", shape: [8, 8, 3, 3], data: randn(576, 77, 0.2) }, { name: "bias", shape: [8] }] },
  { name: "Conv2d ghost norm, groups 2", x: [2, 8, 4, 4], nodes: [n("Conv", ["h", "w"], ["y"], [attr.ints("kernel_shape", [3, 3]), attr.int("group", 2)])], y: [2, 16, 2, 2], params: [{ name: "w", shape: [16, 4, 3, 3], data: randn(576, 78, 0.2) }] },
  { name: "Conv2d large weight (one folded MatMul), ghost norm", x: [2, 64, 4, 4], nodes: [n("Conv", ["h", "w"], ["y"], [attr.ints("kernel_shape", [3, 3])])], y: [2, 128, 2, 2], params: [{ name: "w", shape: [128, 64, 3, 3], data: randn(73728, 79, 0.05) }] },
  { name: "Conv2d stride 2 kernel 4 pad 1 (SpaceToDepth im2col, materialized)", x: [2, 2, 9, 9], nodes: [n("Conv", ["h", "w", "bias"], ["y"], [attr.ints("kernel_shape", [4, 4]), attr.ints("strides", [2, 2]), attr.ints("pads", [1, 1, 1, 1])])], y: [2, 3, 4, 4], params: [{ name: "w", shape: [3, 2, 4, 4] }, { name: "bias", shape: [3] }] },
  { name: "Conv2d stride 2 kernel 2x4, uneven pads (SpaceToDepth im2col, ghost)", x: [2, 32, 6, 7], nodes: [n("Conv", ["h", "w"], ["y"], [attr.ints("kernel_shape", [2, 4]), attr.ints("strides", [2, 2]), attr.ints("pads", [0, 1, 1, 0])])], y: [2, 72, 3, 3], params: [{ name: "w", shape: [72, 32, 2, 4], data: randn(18432, 81, 0.05) }] },
  { name: "Conv2d stride 2 kernel 2, begin pads, last row unread (im2col pads and crops)", x: [2, 2, 10, 10], nodes: [n("Conv", ["h", "w"], ["y"], [attr.ints("kernel_shape", [2, 2]), attr.ints("strides", [2, 2]), attr.ints("pads", [1, 1, 0, 0])])], y: [2, 3, 5, 5], params: [{ name: "w", shape: [3, 2, 2, 2] }] },
  { name: "Conv2d stride 1 dilation 2 (contiguous im2col)", x: [2, 2, 7, 7], nodes: [n("Conv", ["h", "w"], ["y"], [attr.ints("kernel_shape", [3, 3]), attr.ints("dilations", [2, 2]), attr.ints("pads", [1, 1, 1, 1])])], y: [2, 3, 5, 5], params: [{ name: "w", shape: [3, 2, 3, 3] }] },
  { name: "Conv2d stride 2, last row and column never read (weight gradient crops x)", x: [2, 2, 8, 8], nodes: [n("Conv", ["h", "w"], ["y"], [attr.ints("kernel_shape", [3, 3]), attr.ints("strides", [2, 2])])], y: [2, 3, 3, 3], params: [{ name: "w", shape: [3, 2, 3, 3] }] },
  { name: "Conv1d stride 2", x: [B, 3, 9], nodes: [n("Conv", ["h", "w", "bias"], ["y"], [attr.ints("kernel_shape", [3]), attr.ints("strides", [2])])], y: [B, 4, 4], params: [{ name: "w", shape: [4, 3, 3] }, { name: "bias", shape: [4] }] },
  { name: "MaxPool 2x2 stride 2", x: [2, 2, 6, 6], nodes: [n("MaxPool", ["h"], ["y"], [attr.ints("kernel_shape", [2, 2]), attr.ints("strides", [2, 2])])], y: [2, 2, 3, 3], epsilon: 1e-3 },
  { name: "MaxPool 2x2 stride 1 (separable, no Indices)", x: [2, 2, 5, 6], nodes: [n("MaxPool", ["h"], ["y"], [attr.ints("kernel_shape", [2, 2])])], y: [2, 2, 4, 5], epsilon: 1e-3 },
  { name: "MaxPool 3x2 stride 1 then 1-D kernel 3 (separable)", x: [2, 2, 5, 6], nodes: [n("MaxPool", ["h"], ["a"], [attr.ints("kernel_shape", [3, 2]), attr.ints("strides", [1, 1])]), n("Reshape", ["a", "flat"], ["f"]), n("MaxPool", ["f"], ["y"], [attr.ints("kernel_shape", [3])])], y: [2, 3, 8], consts: [{ name: "flat", shape: [3], int64: [0, 3, 10] }], epsilon: 1e-3 },
  { name: "MaxPool 3x3 overlapping pad 1", x: [2, 2, 5, 5], nodes: [n("MaxPool", ["h"], ["y"], [attr.ints("kernel_shape", [3, 3]), attr.ints("pads", [1, 1, 1, 1])])], y: [2, 2, 5, 5], epsilon: 1e-3 },
  { name: "AveragePool 2x2 stride 2", x: [2, 2, 6, 6], nodes: [n("AveragePool", ["h"], ["y"], [attr.ints("kernel_shape", [2, 2]), attr.ints("strides", [2, 2])])], y: [2, 2, 3, 3] },
  { name: "AveragePool pad 1 count_include_pad 0", x: [2, 2, 5, 5], nodes: [n("AveragePool", ["h"], ["y"], [attr.ints("kernel_shape", [3, 3]), attr.ints("pads", [1, 1, 1, 1])])], y: [2, 2, 5, 5] },
  { name: "AveragePool pad 1 count_include_pad 1", x: [2, 2, 5, 5], nodes: [n("AveragePool", ["h"], ["y"], [attr.ints("kernel_shape", [3, 3]), attr.ints("pads", [1, 1, 1, 1]), attr.int("count_include_pad", 1)])], y: [2, 2, 5, 5] },
  { name: "GlobalAveragePool", x: [2, 3, 4, 4], nodes: [n("GlobalAveragePool", ["h"], ["y"])], y: [2, 3, 1, 1] },
  { name: "LayerNormalization", x: [B, 4, 5], nodes: [n("LayerNormalization", ["h", "s", "bias"], ["y"], [attr.int("axis", -1)])], y: [B, 4, 5], params: [{ name: "s", shape: [5] }, { name: "bias", shape: [5] }] },
  { name: "LayerNormalization axis -2", x: [B, 3, 4, 5], nodes: [n("LayerNormalization", ["h", "s", "bias"], ["y"], [attr.int("axis", -2)])], y: [B, 3, 4, 5], params: [{ name: "s", shape: [4, 5] }, { name: "bias", shape: [4, 5] }] },
  { name: "InstanceNormalization", x: [B, 4, 6], nodes: [n("InstanceNormalization", ["h", "s", "bias"], ["y"])], y: [B, 4, 6], params: [{ name: "s", shape: [4] }, { name: "bias", shape: [4] }] },
  { name: "GroupNorm (Reshape/InstanceNormalization/Reshape/Mul/Add)", x: [2, 4, 3, 3], nodes: [n("Reshape", ["h", "g3"], ["r"]), n("InstanceNormalization", ["r", "ones", "zeros"], ["i"]), n("Shape", ["h"], ["sh"]), n("Reshape", ["i", "sh"], ["r2"]), n("Unsqueeze", ["gw", "ax"], ["gwu"]), n("Mul", ["r2", "gwu"], ["m"]), n("Unsqueeze", ["gb", "ax"], ["gbu"]), n("Add", ["m", "gbu"], ["y"])], y: [2, 4, 3, 3], params: [{ name: "gw", shape: [4] }, { name: "gb", shape: [4] }], consts: [{ name: "g3", shape: [3], int64: [0, 2, -1] }, { name: "ones", shape: [2], float: Float32Array.of(1, 1) }, { name: "zeros", shape: [2], float: Float32Array.of(0, 0) }, { name: "ax", shape: [2], int64: [1, 2] }] },
  { name: "Reshape/Flatten/Squeeze/Unsqueeze", x: [B, 4, 5], nodes: [n("Reshape", ["h", "s20"], ["r"]), n("Unsqueeze", ["r", "ax1"], ["u"]), n("Squeeze", ["u", "ax1"], ["s"]), n("Mul", ["s", "p1"], ["m"]), n("Flatten", ["m"], ["y"], [attr.int("axis", 1)])], y: [B, 20], params: [{ name: "p1", shape: [20] }], consts: [{ name: "s20", shape: [2], int64: [-1, 20] }, { name: "ax1", shape: [1], int64: [1] }] },
  { name: "Transpose", x: [B, 2, 3, 4], nodes: [n("Transpose", ["h"], ["t"], [attr.ints("perm", [0, 3, 1, 2])]), n("Mul", ["t", "p1"], ["y"])], y: [B, 4, 2, 3], params: [{ name: "p1", shape: [4, 1, 3] }] },
  { name: "Concat/Split", x: [B, 4, 5], nodes: [n("Mul", ["x", "p1"], ["h2"]), n("Concat", ["h", "h2"], ["c"], [attr.int("axis", 2)]), n("Split", ["c", "sp"], ["a", "b2", "c3"], [attr.int("axis", 2)]), n("Tanh", ["a"], ["ta"]), n("Concat", ["c3", "ta"], ["y"], [attr.int("axis", 2)])], y: [B, 4, 7], params: [{ name: "p1", shape: [4, 5] }], consts: [{ name: "sp", shape: [3], int64: [4, 3, 3] }] },
  { name: "Slice", x: [B, 4, 6], nodes: [n("Slice", ["h", "st", "en", "axs"], ["s"]), n("Tanh", ["s"], ["y"])], y: [B, 2, 3], consts: [{ name: "st", shape: [2], int64: [1, 2] }, { name: "en", shape: [2], int64: [3, 5] }, { name: "axs", shape: [2], int64: [1, 2] }] },
  { name: "Slice with steps 2 and -1 (flip)", x: [B, 5, 7], nodes: [n("Slice", ["h", "st", "en", "axs", "stp"], ["s"]), n("Tanh", ["s"], ["y"])], y: [B, 5, 3], consts: [{ name: "st", shape: [2], int64: [-1, 1] }, { name: "en", shape: [2], int64: [-(2 ** 53), 7] }, { name: "axs", shape: [2], int64: [1, 2] }, { name: "stp", shape: [2], int64: [-1, 2] }] },
  { name: "Gather scalar and vector indices", x: [B, 4, 5], nodes: [n("Gather", ["h", "i0"], ["g0"], [attr.int("axis", 2)]), n("Gather", ["h", "iv"], ["g1"], [attr.int("axis", 2)]), n("ReduceSum", ["g1", "ax2"], ["g1s"], [attr.int("keepdims", 0)]), n("Mul", ["g0", "g1s"], ["y"])], y: [B, 4], consts: [{ name: "i0", shape: [], int64: [2] }, { name: "iv", shape: [3], int64: [4, 0, 4] }, { name: "ax2", shape: [1], int64: [2] }], epsilon: 1e-3 },
  { name: "Expand", x: [B, 1, 5], nodes: [n("Expand", ["h", "shp"], ["e"]), n("Mul", ["e", "p1"], ["y"])], y: [B, 4, 5], params: [{ name: "p1", shape: [4, 1] }], consts: [{ name: "shp", shape: [3], int64: [1, 4, 5] }] },
  { name: "ReduceMean (attribute axes) / ReduceSum (input axes)", x: [B, 4, 5], nodes: [n("ReduceMean", ["h"], ["m"], [attr.ints("axes", [1]), attr.int("keepdims", 0)]), n("ReduceSum", ["h", "ax1"], ["s"], [attr.int("keepdims", 1)]), n("Mul", ["m", "m"], ["m2"]), n("Unsqueeze", ["m2", "ax1"], ["m3"]), n("Mul", ["m3", "s"], ["y"])], y: [B, 1, 5], consts: [{ name: "ax1", shape: [1], int64: [1] }] },
  { name: "ReduceSumSquare/ReduceL2/ReduceLogSumExp/ReduceMax/ReduceMin", x: [B, 4, 5], nodes: [n("ReduceSumSquare", ["h"], ["a"], [attr.ints("axes", [2]), attr.int("keepdims", 0)]), n("ReduceL2", ["h"], ["l"], [attr.ints("axes", [2]), attr.int("keepdims", 0)]), n("ReduceLogSumExp", ["h"], ["e"], [attr.ints("axes", [2]), attr.int("keepdims", 0)]), n("ReduceMax", ["h"], ["m"], [attr.ints("axes", [2]), attr.int("keepdims", 0)]), n("ReduceMin", ["h"], ["i"], [attr.ints("axes", [2]), attr.int("keepdims", 1)]), n("Squeeze", ["i", "ax2"], ["i2"]), n("Sum", ["a", "l", "e", "m", "i2"], ["y"])], y: [B, 4], consts: [{ name: "ax2", shape: [1], int64: [2] }], epsilon: 1e-3 },
  { name: "GlobalMaxPool", x: [2, 3, 4, 4], nodes: [n("GlobalMaxPool", ["h"], ["y"])], y: [2, 3, 1, 1], epsilon: 1e-3 },
  { name: "decomposed LayerNorm at opset 15", opset: 15, x: [B, 2, 6], nodes: [n("ReduceMean", ["h"], ["mu"], [attr.ints("axes", [-1])]), n("Sub", ["h", "mu"], ["d"]), n("Pow", ["d", "two"], ["d2"]), n("ReduceMean", ["d2"], ["v"], [attr.ints("axes", [-1])]), n("Add", ["v", "eps"], ["ve"]), n("Sqrt", ["ve"], ["sd"]), n("Div", ["d", "sd"], ["xh"]), n("Mul", ["xh", "s"], ["xs"]), n("Add", ["xs", "bias"], ["y"])], y: [B, 2, 6], params: [{ name: "s", shape: [6] }, { name: "bias", shape: [6] }], consts: [{ name: "two", shape: [], float: Float32Array.of(2) }, { name: "eps", shape: [], float: Float32Array.of(1e-5) }] },
  { name: "opset 18: ReduceMean axes input, Split num_outputs", opset: 18, x: [B, 4, 6], nodes: [n("ReduceMean", ["h", "ax2"], ["m"], [attr.int("keepdims", 1)]), n("Sub", ["h", "m"], ["c"]), n("Split", ["c"], ["a", "b2"], [attr.int("axis", 2), attr.int("num_outputs", 2)]), n("Mul", ["a", "b2"], ["y"])], y: [B, 4, 3], consts: [{ name: "ax2", shape: [1], int64: [2] }] },
  { name: "Dropout ratio 0 (training mode, mask reused)", x: [B, 6], nodes: [n("Dropout", ["h", "ratio", "train"], ["y", "mask"])], y: [B, 6], consts: [{ name: "ratio", shape: [], float: Float32Array.of(0) }, { name: "train", shape: [], bool: [true] }] },
];

describe("gradient rules: finite differences, per-sample norms and clipped sums", () => {
  for (const c of cases) it(c.name, async () => { await run(c); });
});

describe("Gather embeddings (ghost norm with equal token ids)", () => {
  it("matches finite differences and single-sample gradients", async () => {
    const model = tinyModel({
      inputs: [{ name: "ids", dtype: "int64", shape: [B, 4] }],
      params: [{ name: "emb", shape: [7, 5] }, { name: "w", shape: [5, 2] }],
      consts: [{ name: "ax", shape: [1], int64: [1] }],
      nodes: [n("Gather", ["emb", "ids"], ["e"]), n("Tanh", ["e"], ["t"]), n("ReduceSum", ["t", "ax"], ["s"], [attr.int("keepdims", 0)]), n("MatMul", ["s", "w"], ["y"])],
      output: { name: "y", shape: [B, 2] },
    });
    const ids = BigInt64Array.from([1, 3, 1, 6, 0, 0, 0, 2, 5, 4, 3, 5].map(BigInt));
    const labels = new ort.Tensor("int64", BigInt64Array.from([0n, 1n, 1n]), [B]);
    const r = await checkGradients(model, { ids: { dtype: "int64", shape: [B, 4], data: ids } }, "cross_entropy", labels);
    assert.ok(r.finiteDifferenceError < 2e-2, `fd ${r.finiteDifferenceError}`);
    assert.ok(r.normError < 1e-4, `norms ${r.normError}`);
    assert.ok(r.clippedError < 1e-4, `clipped ${r.clippedError}`);
  });
});

describe("MaxPool ties", () => {
  it("the gradient goes to the first maximum in row-major order, as PyTorch", async () => {
    // Every window of a plane with repeated values has ties; p0 = 1 keeps them exact.
    const plane = [1, 1, 0, 2, 1, 1, 2, 2, 0, 1, 1, 0, 2, 2, 2, 2];
    const model = tinyModel({
      inputs: [{ name: "x", shape: [1, 1, 4, 4] }],
      params: [{ name: "p0", shape: [1, 4, 4], data: new Float32Array(16).fill(1) }],
      nodes: [n("Mul", ["x", "p0"], ["h"]), n("MaxPool", ["h"], ["y"], [attr.ints("kernel_shape", [2, 3])])],
      output: { name: "y", shape: [1, 1, 3, 2] },
    });
    const weights = [0.5, -1, 2, 3, -0.25, 1.5];
    const graph = buildTrainingGraph(model, { loss: "mse", mode: "non-private" });
    const session = await ort.InferenceSession.create(graph.model);
    // mse loss = mean (y - label)^2 with labels y - w/ ... : choose labels so dL/dy = w exactly.
    const y = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) {
      let best = -Infinity;
      for (let a = 0; a < 2; a++) for (let c = 0; c < 3; c++) best = Math.max(best, plane[(i + a) * 4 + j + c] ?? 0);
      y[i * 2 + j] = best;
    }
    const labels = Float32Array.from(y.map((v, k) => v - ((weights[k] ?? 0) * 6) / 2));
    const out = await session.run({
      x: new ort.Tensor("float32", Float32Array.from(plane), [1, 1, 4, 4]), p0: new ort.Tensor("float32", new Float32Array(16).fill(1), [1, 4, 4]),
      labels: new ort.Tensor("float32", labels, [1, 1, 3, 2]), sample_mask: new ort.Tensor("float32", Float32Array.of(1), [1]),
    });
    await session.release();
    // dL/dp0 = x * dL/dh; dL/dh routes each window's weight to its first maximum.
    const want = new Array<number>(16).fill(0);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) {
      let at = -1;
      for (let a = 0; a < 2; a++) for (let c = 0; c < 3; c++) if (at < 0 && plane[(i + a) * 4 + j + c] === y[i * 2 + j]) at = (i + a) * 4 + j + c;
      want[at] = (want[at] ?? 0) + (weights[i * 2 + j] ?? 0);
    }
    const grad = Array.from(out["grad:p0"]?.data as Float32Array);
    assert.deepEqual(grad.map((v) => Math.round(v * 1e4) / 1e4), want.map((v, k) => Math.round(v * (plane[k] ?? 0) * 1e4) / 1e4));
  });
});

describe("Dropout in training mode", () => {
  it("reuses the forward's mask in the backward", async () => {
    const model = tinyModel({
      inputs: [{ name: "x", shape: [4, 50] }],
      params: [{ name: "p0", shape: [50], data: randn(50, 3).map((v) => (Math.abs(v) < 0.1 ? 0.5 : v)) }],
      consts: [{ name: "ratio", shape: [], float: Float32Array.of(0.5) }, { name: "train", shape: [], bool: [true] }],
      nodes: [n("Mul", ["x", "p0"], ["h"]), n("Dropout", ["h", "ratio", "train"], ["y", "mask"])],
      output: { name: "y", shape: [4, 50] },
    });
    const graph = buildTrainingGraph(model, { loss: "mse", mode: "non-private" });
    const p0 = readInitializers(model).get("p0")?.data ?? new Float32Array();
    const session = await ort.InferenceSession.create(graph.model);
    const out = await session.run({
      x: new ort.Tensor("float32", randn(200, 5), [4, 50]), p0: new ort.Tensor("float32", p0, [50]),
      labels: new ort.Tensor("float32", new Float32Array(200), [4, 50]), sample_mask: new ort.Tensor("float32", Float32Array.of(1, 1, 1, 1), [4]),
    });
    await session.release();
    const y = out["logits"]?.data as Float32Array;
    const grad = out["grad:p0"]?.data as Float32Array;
    // loss_b = mean_j y_bj^2 with y = x p0 mask / (1 - r): d/dp0_j = sum_b (2/50) y_bj^2 / p0_j.
    let dropped = 0;
    for (let j = 0; j < 50; j++) {
      let want = 0;
      for (let b = 0; b < 4; b++) { const v = y[b * 50 + j] ?? 0; want += (2 / 50) * v * v / (p0[j] ?? 1); if (v === 0) dropped++; }
      assert.ok(Math.abs((grad[j] ?? 0) - want) <= 1e-4 * Math.max(1, Math.abs(want)), `p0[${j}]`);
    }
    assert.ok(dropped > 40 && dropped < 160, `about half the units are dropped (${dropped} of 200)`);
  });
});

describe("models with dynamic non-batch axes", () => {
  it("train once specialized by options.inputShapes", async () => {
    const model = tinyModel({
      inputs: [{ name: "x", shape: [B, 5, 4], symbolic: true }],
      params: [{ name: "w", shape: [4, 3] }, { name: "bias", shape: [3] }],
      nodes: [n("MatMul", ["x", "w"], ["h"]), n("Add", ["h", "bias"], ["t"]), n("Tanh", ["t"], ["u"]), n("ReduceMean", ["u"], ["y"], [attr.ints("axes", [1]), attr.int("keepdims", 0)])],
      output: { name: "y", shape: [B, 3] },
    });
    const labels = new ort.Tensor("int64", BigInt64Array.from([2n, 0n, 1n]), [B]);
    const r = await checkGradients(model, { x: { dtype: "float32", shape: [B, 5, 4], data: randn(B * 20, 9) } }, "cross_entropy", labels, { inputShapes: { x: [5, 4] } });
    assert.ok(r.finiteDifferenceError < 2e-2 && r.normError < 1e-4 && r.clippedError < 1e-4, JSON.stringify(r));
  });
});

describe("cross-sample ops without DP", () => {
  it("a mean over the batch gets its gradient in non-private mode", async () => {
    const model = tinyModel({
      inputs: [{ name: "x", shape: [B, 3] }],
      params: [{ name: "w", shape: [3, 3] }],
      nodes: [n("MatMul", ["x", "w"], ["h"]), n("ReduceMean", ["h"], ["mu"], [attr.ints("axes", [0])]), n("Sub", ["h", "mu"], ["y"])],
      output: { name: "y", shape: [B, 3] },
    });
    const labels = new ort.Tensor("float32", randn(B * 3, 21), [B, 3]);
    const r = await checkGradients(model, { x: { dtype: "float32", shape: [B, 3], data: randn(B * 3, 22) } }, "mse", labels, { nonPrivateOnly: true });
    assert.ok(r.finiteDifferenceError < 2e-2, `fd ${r.finiteDifferenceError}`);
  });
});

describe("GELU fusion", () => {
  it("runs a large GELU's gradient by chunks of rows in a Scan, with the same values", async () => {
    // [256 x 64 rows, 64]: 1M floats, 8 chunks of 2048 rows.
    const [batch, rows, width] = [256, 64, 64];
    const model = tinyModel({
      opset: 17, inputs: [{ name: "x", shape: [batch, rows, width] }], params: [{ name: "p0", shape: [rows, width], data: randn(rows * width, 3) }],
      consts: GELU_CONSTS,
      nodes: [n("Mul", ["x", "p0"], ["h"]), ...GELU_DIV, n("ReduceMean", ["y"], ["y2"], [attr.ints("axes", [2]), attr.int("keepdims", 0)])],
      output: { name: "y2", shape: [batch, rows] },
    });
    const chunked = buildTrainingGraph(model, { loss: "mse", mode: "non-private", physicalBatchSize: batch });
    const whole = buildTrainingGraph(model, { loss: "mse", mode: "non-private" });
    const scans = decodeModel(chunked.model).graph!.node.filter((x) => x.opType === "Scan");
    assert.equal(scans.length, 1, "one Scan for the GELU's gradient");
    assert.equal(decodeModel(whole.model).graph!.node.filter((x) => x.opType === "Scan").length, 0, "no Scan without a physical batch");
    const feeds: Record<string, ort.Tensor> = {
      x: new ort.Tensor("float32", randn(batch * rows * width, 5), [batch, rows, width]),
      labels: new ort.Tensor("float32", randn(batch * rows, 7), [batch, rows]),
      sample_mask: new ort.Tensor("float32", new Float32Array(batch).fill(1), [batch]),
      p0: new ort.Tensor("float32", readInitializers(model).get("p0")!.data, [rows, width]),
    };
    const [a, b] = [await runStep(chunked, feeds), await runStep(whole, feeds)];
    for (const name of ["losses", "grad:p0"]) {
      const err = relativeError(a[name]!.data as Float32Array, b[name]!.data as Float32Array);
      assert.ok(err <= 1e-6, `${name}: relative error ${err}`);
    }
  });

  it("chunks only activations large enough, into whole rows", () => {
    assert.equal(scanChunks(256, 6), undefined);
    assert.equal(scanChunks(16384, 512), 64);
    // 320 x 64 rows (a DP physical batch): chunks of 256 rows.
    assert.equal(scanChunks(20480, 512), 80);
    // fmnist_cnn's first pool, [256 x 1, 14 x 14 x 16]: 4 chunks of 64 samples.
    assert.equal(scanChunks(256, 3136), 4);
    // At most 128 chunks, each a whole number of rows.
    assert.equal(scanChunks(100000, 3072), 125);
    assert.equal(scanChunks(1031, 4096), undefined);
  });

  it("differentiates an exported GELU as one rule, skipping its inner nodes' rules", () => {
    const model = tinyModel({ opset: 17, inputs: [{ name: "x", shape: [B, 6] }], params: [{ name: "p0", shape: [6] }], consts: GELU_CONSTS, nodes: [n("Mul", ["x", "p0"], ["h"]), ...GELU_DIV], output: { name: "y", shape: [B, 6] } });
    const names = decodeModel(buildTrainingGraph(model, { loss: "mse", mode: "non-private" }).model).graph!.node.map((x) => x.name);
    const erf = names.find((x) => x.startsWith("Erf_"))!;
    assert.ok(erf !== undefined, "the forward keeps its Erf");
    assert.ok(!names.some((x) => x.startsWith(`__ad/${erf}/`)), "no backward node comes from the Erf's own rule");
    assert.ok(names.some((x) => /^__ad\/Mul_\d+\/Exp/.test(x)), "the fused rule (under the last Mul) computes exp(-u^2)");
  });
});
