import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { attr, attrInt, attrInts, attrString } from "./attributes.js";
import type { GraphBuilder } from "./graph-builder.js";
import { fromBlocked, toBlocked, view4, view5 } from "./nchwc-views.js";
import { FLOAT } from "./vjp-context.js";

/**
 * Whether a MaxPool's gradient can be taken without its Indices output: stride 1, no
 * padding, no dilation (the overlapping pools of Tramer and Boneh's CNN). onnxruntime
 * computes MaxPool with Indices in a scalar loop, about 25x slower than without.
 */
export function separableMaxPool(node: NodeProto): boolean {
  const kernel = attrInts(node, "kernel_shape") ?? [];
  const ones = (v: number[] | undefined): boolean => v === undefined || v.every((x) => x === 1);
  const mode = attrString(node, "auto_pad", "NOTSET");
  return kernel.length > 0 && ones(attrInts(node, "strides")) && ones(attrInts(node, "dilations")) &&
    (attrInts(node, "pads") ?? []).every((p) => p === 0) && (mode === "NOTSET" || mode === "VALID") &&
    attrInt(node, "storage_order", 0) === 0;
}

/** `x` cropped to [start, start + size) along `axis` (a Split: onnxruntime's Slice of an inner axis is slow). */
function crop(b: GraphBuilder, x: string, axis: number, start: number, size: number, length: number): string {
  if (start === 0 && size === length) return x;
  const sizes = [start, size, length - start - size].filter((s) => s > 0);
  return b.op("Split", [x, b.i64(sizes)], [attr.int("axis", axis)], sizes.length)[start > 0 ? 1 : 0] ?? "";
}

/** `x` with `before` and `after` zeros along `axis` (a Concat: cheaper than an inner-axis Pad). */
function zeroPad(b: GraphBuilder, x: string, rank: number, axis: number, before: number, after: number): string {
  const zeros = (n: number): string => {
    const shape = b.op1("Concat", [
      ...(axis > 0 ? [b.op1("Shape", [x], [attr.int("end", axis)])] : []),
      b.i64([n]),
      ...(axis < rank - 1 ? [b.op1("Shape", [x], [attr.int("start", axis + 1)])] : []),
    ], [attr.int("axis", 0)]);
    return b.zerosOfShape(shape);
  };
  const parts = [...(before > 0 ? [zeros(before)] : []), x, ...(after > 0 ? [zeros(after)] : [])];
  return parts.length === 1 ? x : b.op1("Concat", parts, [attr.int("axis", axis)]);
}

/**
 * Backward of a stride-1 max over windows of `k` along one axis, `v = max_j u[i + j]`:
 * each output's gradient goes to the first j with u[i + j] == v[i] (PyTorch's rule: the
 * first maximum in scan order), then every offset's share is shifted back into place.
 */
function stageBackward(b: GraphBuilder, u: string, v: string, gv: string, rank: number, axis: number, k: number, length: number): string {
  const m = length - k + 1;
  let rest = gv;
  const placed: string[] = [];
  for (let j = 0; j < k; j++) {
    let share = rest;
    if (j < k - 1) {
      share = b.mul(rest, b.cast(b.op1("Equal", [crop(b, u, axis, j, m, length), v]), FLOAT));
      rest = b.sub(rest, share);
    }
    placed.push(zeroPad(b, share, rank, axis, j, k - 1 - j));
  }
  return b.sum(placed);
}

/**
 * Gradient of a stride-1 MaxPool (see {@link separableMaxPool}) without Indices: the pool is
 * separable, max over a window = max over its last axis, then the one before, ..., and the
 * first maximum in row-major order is the first row holding the maximum, then the first
 * element of that row holding it, so each axis' stage routes the gradient by PyTorch's rule.
 * The intermediate maxima are recomputed by MaxPools with a kernel of 1 on the other axes.
 */
export function separableMaxPoolGrad(b: GraphBuilder, node: NodeProto, x: string, g: string, spatial: readonly number[], channels: number): string {
  const block = b.nchwcBlock;
  if (block !== undefined && spatial.length === 2 && channels % block === 0) return blockedMaxPoolGrad(b, node, x, g, spatial, channels, block);
  const kernel = attrInts(node, "kernel_shape") ?? [];
  const sp = spatial.length;
  const rank = sp + 2;
  // Stages in forward order, from the last spatial axis to the first.
  const stages: { axis: number; k: number; input: string; output: string; length: number }[] = [];
  const sizes = [...spatial];
  let current = x;
  const axes = Array.from({ length: sp }, (_, i) => sp - 1 - i).filter((i) => (kernel[i] ?? 1) > 1);
  axes.forEach((i, n) => {
    const k = kernel[i] ?? 1;
    const out = n === axes.length - 1 ? (node.output[0] ?? "") : b.op1("MaxPool", [current], [attr.ints("kernel_shape", spatial.map((_, j) => (j === i ? k : 1)))]);
    stages.push({ axis: i + 2, k, input: current, output: out, length: sizes[i] ?? 0 });
    sizes[i] = (sizes[i] ?? 0) - k + 1;
    current = out;
  });
  let grad = g;
  for (let s = stages.length - 1; s >= 0; s--) {
    const st = stages[s];
    if (st === undefined) continue;
    grad = stageBackward(b, st.input, st.output, grad, rank, st.axis, st.k, st.length);
  }
  return grad;
}

/**
 * {@link separableMaxPoolGrad} of a 2-D pool in onnxruntime's NCHWc layout (nchwc-views.ts),
 * where the shifts along W copy runs of a whole channel block instead of single floats (the
 * stages' Split/Concat copies per row of the innermost axis) and the recomputed maxima use
 * the NCHWc MaxPool. The same stages, on the 5-D view [N, C/B, H, W, B], whose spatial axes
 * keep their NCHW indices 2 and 3.
 */
function blockedMaxPoolGrad(b: GraphBuilder, node: NodeProto, x: string, g: string, spatial: readonly number[], channels: number, block: number): string {
  const kernel = attrInts(node, "kernel_shape") ?? [];
  const sizes = [...spatial];
  let current = toBlocked(b, x);
  let current5 = view5(b, current, [channels, ...sizes], block);
  const stages: { axis: number; k: number; input: string; output: string; length: number }[] = [];
  const axes = [1, 0].filter((i) => (kernel[i] ?? 1) > 1);
  axes.forEach((i, n) => {
    const k = kernel[i] ?? 1;
    const length = sizes[i] ?? 0;
    sizes[i] = length - k + 1;
    const out = n === axes.length - 1
      ? toBlocked(b, node.output[0] ?? "")
      : b.nchwc("MaxPool", [current], [attr.ints("kernel_shape", [0, 1].map((j) => (j === i ? k : 1)))]);
    const out5 = view5(b, out, [channels, ...sizes], block);
    stages.push({ axis: i + 2, k, input: current5, output: out5, length });
    current = out;
    current5 = out5;
  });
  let grad = view5(b, toBlocked(b, g), [channels, ...sizes], block);
  for (let s = stages.length - 1; s >= 0; s--) {
    const st = stages[s];
    if (st === undefined) continue;
    grad = stageBackward(b, st.input, st.output, grad, 5, st.axis, st.k, st.length);
  }
  const shape = [channels, ...spatial];
  return fromBlocked(b, view4(b, grad, shape), shape);
}
