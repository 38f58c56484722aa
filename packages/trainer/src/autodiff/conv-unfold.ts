import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { TrainerError } from "../trainer-error.js";
import { attr, attrInt, attrInts, attrString } from "./attributes.js";
import type { GraphBuilder } from "./graph-builder.js";

/** Static geometry of a Conv node (PyTorch exports explicit pads). */
export interface ConvGeometry {
  readonly kernel: number[];
  readonly strides: number[];
  readonly pads: number[];
  readonly dilations: number[];
  readonly group: number;
}

/** Reads a Conv node's geometry; refuses auto_pad (PyTorch never emits it). */
export function convGeometry(node: NodeProto, weightShape: readonly number[]): ConvGeometry {
  const sp = weightShape.length - 2;
  const mode = attrString(node, "auto_pad", "NOTSET");
  if (mode !== "NOTSET" && mode !== "VALID") {
    throw new TrainerError("unsupported-op", `Conv node "${node.name}": auto_pad=${mode} is not differentiable here; export with explicit padding`);
  }
  return {
    kernel: attrInts(node, "kernel_shape") ?? weightShape.slice(2),
    strides: attrInts(node, "strides") ?? new Array<number>(sp).fill(1),
    pads: mode === "VALID" ? new Array<number>(2 * sp).fill(0) : (attrInts(node, "pads") ?? new Array<number>(2 * sp).fill(0)),
    dilations: attrInts(node, "dilations") ?? new Array<number>(sp).fill(1),
    group: attrInt(node, "group", 1),
  };
}

/**
 * im2col by strided slices: for each kernel offset j, one Slice of the padded input (start
 * j * dilation, step stride) is the input every window sees at that offset; stacking the K
 * slices gives U[n, c, j, p] = x_pad[n, c, window(p) + offset(j)], K = prod(kernel), which
 * reshaped to [N, G, Cg*K, P] matches the (c, kh, kw) flattening of a grouped Conv weight.
 * Pure strided copies: cheaper in onnxruntime than an identity-kernel Conv or a Gather.
 */
export function unfold(b: GraphBuilder, x: string, channels: number, spatial: readonly number[], geo: ConvGeometry): string {
  const sp = spatial.length;
  const padded = spatial.map((n, i) => n + (geo.pads[i] ?? 0) + (geo.pads[i + sp] ?? 0));
  const out = padded.map((n, i) => Math.floor((n - (geo.dilations[i] ?? 1) * ((geo.kernel[i] ?? 1) - 1) - 1) / (geo.strides[i] ?? 1)) + 1);
  const k = geo.kernel.reduce((a, c) => a * c, 1);
  const p = out.reduce((a, c) => a * c, 1);
  const pads = [0, 0, ...geo.pads.slice(0, sp), 0, 0, ...geo.pads.slice(sp)];
  const xp = pads.some((v) => v !== 0) ? b.op1("Pad", [x, b.i64(pads)]) : x;
  const axes = b.i64(Array.from({ length: sp }, (_, i) => i + 2));
  const steps = b.i64(geo.strides);
  const parts: string[] = [];
  for (let j = 0; j < k; j++) {
    const offset = new Array<number>(sp).fill(0);
    let rem = j;
    for (let d = sp - 1; d >= 0; d--) { offset[d] = (rem % (geo.kernel[d] ?? 1)) * (geo.dilations[d] ?? 1); rem = Math.floor(rem / (geo.kernel[d] ?? 1)); }
    const ends = offset.map((o, d) => o + ((out[d] ?? 1) - 1) * (geo.strides[d] ?? 1) + 1);
    const slice = b.op1("Slice", [xp, b.i64(offset), b.i64(ends), axes, steps]);
    parts.push(b.unsqueeze(slice, [2]));
  }
  const stacked = parts.length === 1 ? parts[0] ?? "" : b.op1("Concat", parts, [attr.int("axis", 2)]);
  return b.reshape(stacked, [0, geo.group, (channels / geo.group) * k, p]);
}

/**
 * Per-sample weight gradients of a Conv as [N, G, Cout/G, Cin/G*K]: g_n (per group) times
 * U_n^T, batched over samples and groups.
 */
export function perSampleConvGrad(b: GraphBuilder, x: string, spatial: readonly number[], g: string, wShape: readonly number[], geo: ConvGeometry): string {
  const [cout = 0, cg = 0] = wShape;
  const u = unfold(b, x, cg * geo.group, spatial, geo);
  const gg = b.reshape(g, [0, geo.group, cout / geo.group, -1]);
  return b.matmul(gg, b.transpose(u, [0, 1, 3, 2]));
}

/** Weights up to this many elements get their summed gradient through per-sample products. */
const SMALL_WEIGHT_ELEMENTS = 65536;

/**
 * Summed weight gradient of a Conv, sum_n g_n U_n^T. Small weights: the batched per-sample
 * products summed over samples (fastest in onnxruntime); large ones: samples and positions
 * folded into one contraction axis and one MatMul, so no per-sample copy of the weights.
 * Returns the weight's shape.
 */
export function convWeightGrad(b: GraphBuilder, x: string, spatial: readonly number[], g: string, wShape: readonly number[], geo: ConvGeometry): string {
  const size = wShape.reduce((p, c) => p * c, 1);
  if (size <= SMALL_WEIGHT_ELEMENTS) {
    return b.reshape(b.reduceSum(perSampleConvGrad(b, x, spatial, g, wShape, geo), [0], false), wShape);
  }
  const [cout = 0, cg = 0] = wShape;
  const u = unfold(b, x, cg * geo.group, spatial, geo);
  const k = cg * geo.kernel.reduce((p, c) => p * c, 1);
  const gg = b.reshape(b.transpose(b.reshape(g, [0, geo.group, cout / geo.group, -1]), [1, 2, 0, 3]), [geo.group, cout / geo.group, -1]);
  const uu = b.reshape(b.transpose(u, [1, 2, 0, 3]), [geo.group, k, -1]);
  return b.reshape(b.matmul(gg, b.transpose(uu, [0, 2, 1])), wShape);
}

/**
 * Squared per-sample norms of a Conv's weight gradient by the ghost identity
 * ||g_n U_n^T||_F^2 = <U_n^T U_n, g_n^T g_n> (Gram matrices over output positions), which
 * costs P^2 (Cin/G*K + Cout/G) per group instead of P * Cout/G * Cin/G*K.
 */
export function ghostConvSquaredNorm(b: GraphBuilder, x: string, spatial: readonly number[], g: string, wShape: readonly number[], geo: ConvGeometry): string {
  const [cout = 0, cg = 0] = wShape;
  const u = unfold(b, x, cg * geo.group, spatial, geo);
  const gg = b.reshape(g, [0, geo.group, cout / geo.group, -1]);
  const uu = b.matmul(b.transpose(u, [0, 1, 3, 2]), u);
  const ggram = b.matmul(b.transpose(gg, [0, 1, 3, 2]), gg);
  return b.reduceSum(b.mul(uu, ggram), [1, 2, 3], false);
}
