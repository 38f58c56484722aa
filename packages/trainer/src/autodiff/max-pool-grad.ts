import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { attr, attrInt, attrInts, attrString } from "./attributes.js";
import { type GraphBuilder, NCHWC_DOMAIN } from "./graph-builder.js";
import { fromBlocked, toBlocked, view5 } from "./nchwc-views.js";
import { scanChunks, scanRows } from "./row-chunks.js";
import { FLOAT } from "./vjp-context.js";
import { derivativeFromOutput } from "./vjp-elementwise.js";

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
export function separableMaxPoolGrad(b: GraphBuilder, node: NodeProto, x: string, g: string, spatial: readonly number[], channels: number, batch?: number): string {
  const block = b.nchwcBlock;
  if (block !== undefined && spatial.length === 2 && channels % block === 0) return blockedMaxPoolGrad(b, node, x, g, spatial, channels, block, batch);
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
 * with every stage on the input's full grid: the gradients carry zeros past the windows'
 * reach, so no stage crops or pads along an axis. Each image ([H, W, B] floats of one sample
 * and channel block) is one flat row, and a shift by j rows or columns is one Pad of that row
 * by j * W * B or j * B floats (the zeros that cross a row edge come from the columns past the
 * last window, where the gradient is zero). The stage maxima are the NCHWc MaxPool with end
 * pads (the windows' maxima where they fit, which is all the routing reads); a 2-row stage
 * needs none: its mask is rowMax[i] < rowMax[i + 1]. For a 2x2 pool: one MaxPool, one Pad and,
 * per stage, a Less + Cast mask, a Mul and a depthwise Conv (10 passes over the input; 14 with
 * a Sub, a Pad and an Add per stage in place of the Conv, 17 before that; fmnist_cnn's first
 * pool).
 */
function blockedMaxPoolGrad(b: GraphBuilder, node: NodeProto, x: string, g: string, spatial: readonly number[], channels: number, block: number, batch: number | undefined): string {
  const [kh = 1, kw = 1] = attrInts(node, "kernel_shape") ?? [];
  const [h = 0, w = 0] = spatial;
  const shape = [channels, h, w];
  const image = h * w * block;
  // A Tanh or Sigmoid whose output only this pool reads: its derivative is applied here, to the
  // pool's output gradient on the (smaller) grid where it is not zero: the gradient reaches
  // each input only from windows whose maximum it is, so the activation's value there is the
  // pooled one (tanh' = 1 - y^2 and sigmoid' = y (1 - y) in terms of the output y). fmnist_cnn:
  // 12 x 12 instead of 14 x 14.
  const act = b.forwardProducer.get(x);
  const folded = act !== undefined && (act.domain === "" || act.domain === "ai.onnx") && (act.opType === "Tanh" || act.opType === "Sigmoid") &&
    b.forwardReaders.get(x) === 1;
  const pooled = [channels, h - kh + 1, w - kw + 1];
  const derivative = !folded ? undefined : (src5: string, sh: number, sw: number): string => {
    const [, ph = 0, pw = 0] = pooled;
    let y5 = b.reshape(toBlocked(b, node.output[0] ?? ""), [-1, channels / block, ph, pw, block]);
    if (sh < ph || sw < pw) y5 = b.op1("Slice", [y5, b.i64([0, 0]), b.i64([sh, sw]), b.i64([2, 3])]);
    return b.mul(src5, derivativeFromOutput(b, act.opType === "Tanh" ? "Tanh" : "Sigmoid", y5));
  };
  if (folded) b.appliedDerivatives.add(x);
  // The stages work on the flat view [N * C/B, H * W * B] (elementwise ops do not care), one
  // row per image of a sample and channel block: with the batch known, by chunks of rows in a
  // Scan (row-chunks.ts), where their 10 passes stay in cache.
  const gradIn = b.reshape(zeroExtendedBlocked(b, g, pooled, [h, w], block, derivative), [-1, image]);
  const xIn = b.reshape(toBlocked(b, x), [-1, image]);
  const rows = batch === undefined ? undefined : batch * (channels / block);
  const chunks = rows === undefined ? undefined : scanChunks(rows, image);
  const routed = rows === undefined || chunks === undefined
    ? routeByStages(b, xIn, gradIn, channels, h, w, kh, kw, block)
    : scanRows(b, [xIn, gradIn], rows, [image, image], image, chunks, (body, [xc = "", gc = ""]) => routeByStages(body, xc, gc, channels, h, w, kh, kw, block));
  return fromBlocked(b, b.reshape(routed, [-1, ...shape]), shape);
}

/**
 * The stages of {@link blockedMaxPoolGrad} on flat rows: `xf` the pool's input and `gf` its
 * output gradient zero-extended to the input's grid, both [rows, H * W * B] with one blocked
 * image a row; returns the input gradient in the same layout.
 */
function routeByStages(b: GraphBuilder, xf: string, gf: string, channels: number, h: number, w: number, kh: number, kw: number, block: number): string {
  const image = h * w * block;
  /** A flat view as the blocked 4-D tensor the NCHWc ops take. */
  const four = (t: string): string => b.reshape(t, [-1, channels, h, w]);
  const rowMax = kw > 1 ? b.nchwc("MaxPool", [four(xf)], [attr.ints("kernel_shape", [1, kw]), attr.ints("pads", [0, 0, 0, kw - 1])]) : four(xf);
  const flat = (t: string): string => b.reshape(t, [-1, image]);
  const windowMax = (): string => flat(b.nchwc("MaxPool", [rowMax], [attr.ints("kernel_shape", [kh, 1]), attr.ints("pads", [0, 0, kh - 1, 0])]));
  /** `t` (flat) moved by `d` floats along each image (d > 0: towards the end), zeros filling in. */
  const shift = (t: string, d: number): string => (d === 0 ? t : b.op1("Pad", [t, b.i64([0, d, 0, -d])]));
  /**
   * Backward of v[i] = max_{j<k} u[i + j * unit] (first maximum) for a gradient gv that is zero
   * where the window does not fit. With rest_j = gv [the first maximum is at an offset >= j]
   * (rest_0 = gv, rest_j = rest_{j-1} [u[i + (j-1) unit] < v]), input i receives
   * sum_j rest_j[i - j] - rest_{j+1}[i - j] = rest_0[i] + sum_{j>=1} rest_j[i - j] - rest_j[i - j + 1]:
   * one depthwise NCHWc Conv per offset j >= 1 (taps +1 and -1, the sum so far as its Sum
   * input), in place of a Sub, a Pad and an Add per offset. Unless `v` is already there
   * (`computed`), the mask for k = 2 is u[i] < u[i + unit]: one shift instead of a MaxPool for v.
   */
  const stage = (u: string, v: () => string, computed: boolean, gv: string, k: number, vertical: boolean): string => {
    const unit = vertical ? w * block : block;
    const pairwise = k === 2 && !computed;
    const max = pairwise ? "" : v();
    let rest = gv;
    let sum = four(gv);
    for (let j = 1; j < k; j++) {
      const later = pairwise ? b.op1("Less", [u, shift(u, -unit)]) : b.op1("Less", [shift(u, -(j - 1) * unit), max]);
      rest = b.mul(rest, b.cast(later, FLOAT));
      const kernel = vertical ? [j + 1, 1] : [1, j + 1];
      sum = b.nchwc("Conv", [four(rest), shiftDifference(b, channels, block, j, vertical), "", sum], [
        attr.ints("kernel_shape", kernel), attr.ints("pads", vertical ? [j, 0, 0, 0] : [0, j, 0, 0]), attr.int("group", channels),
      ]);
    }
    return flat(sum);
  };
  let grad = gf;
  if (kh > 1) grad = stage(flat(rowMax), windowMax, false, grad, kh, true);
  if (kw > 1) grad = stage(xf, () => flat(rowMax), true, grad, kw, false);
  return grad;
}

/**
 * The filter of a depthwise NCHWc Conv over `channels` channels whose output at i is
 * t[i - j] - t[i - j + 1] along one axis (kernel j + 1 along it, j leading pads), in MLAS's
 * depthwise filter layout [C/B, kh, kw, B].
 */
function shiftDifference(b: GraphBuilder, channels: number, block: number, j: number, vertical: boolean): string {
  const taps = j + 1;
  const data = new Float32Array(channels * taps);
  for (let c = 0; c < channels / block; c++) {
    data.fill(1, c * taps * block, c * taps * block + block);
    data.fill(-1, c * taps * block + block, c * taps * block + 2 * block);
  }
  return b.f32(data, vertical ? [channels, 1, taps, 1] : [channels, 1, 1, taps]);
}

/**
 * The blocked twin of `g` (NCHW, [N, ...shape]) zero-extended at the end of its spatial axes
 * to `to`. When `g` is a gradient rule's `ReorderOutput` of a zero Pad of a blocked 5-D view
 * (the polyphase conv input gradient's zero-extension), that Pad is emitted again with the
 * larger extension instead of padding twice.
 */
function zeroExtendedBlocked(b: GraphBuilder, g: string, shape: readonly number[], to: readonly number[], block: number, scale?: (src5: string, h: number, w: number) => string): string {
  const [c = 0, h = 0, w = 0] = shape;
  const [th = 0, tw = 0] = to;
  const gb = toBlocked(b, g);
  if (th === h && tw === w) return scale === undefined ? gb : b.reshape(scale(view5(b, gb, shape, block), h, w), [-1, c, h, w]);
  const producer = (name: string): NodeProto | undefined => b.nodes.find((n) => n.output.includes(name));
  const reorder = producer(g);
  const view = reorder?.domain === NCHWC_DOMAIN && reorder.opType === "ReorderOutput" ? producer(reorder.input[0] ?? "") : undefined;
  const pad = view?.opType === "Reshape" ? producer(view.input[0] ?? "") : undefined;
  const pads = pad?.opType === "Pad" && pad.input.length === 2 ? b.constantInts(pad.input[1] ?? "") : undefined;
  if (pad !== undefined && pads?.length === 10 && pads.slice(0, 5).every((p) => p === 0) && attrString(pad, "mode", "constant") === "constant") {
    const more = [...pads];
    more[7] = (more[7] ?? 0) + th - h;
    more[8] = (more[8] ?? 0) + tw - w;
    const src = pad.input[0] ?? "";
    const scaled = scale === undefined ? src : scale(src, h - (pads[7] ?? 0), w - (pads[8] ?? 0));
    return b.reshape(b.op1("Pad", [scaled, b.i64(more)]), [-1, c, th, tw]);
  }
  const g5 = view5(b, gb, shape, block);
  return b.reshape(b.op1("Pad", [scale === undefined ? g5 : scale(g5, h, w), b.i64([0, 0, 0, 0, 0, 0, 0, th - h, tw - w, 0])]), [-1, c, th, tw]);
}
