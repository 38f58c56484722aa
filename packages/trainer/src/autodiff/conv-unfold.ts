import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { TrainerError } from "../trainer-error.js";
import { attr, attrInt, attrInts, attrString } from "./attributes.js";
import type { GraphBuilder } from "./graph-builder.js";
import { fromBlocked, toBlocked, view5 } from "./nchwc-views.js";

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

/**
 * Summed weight gradient of a Conv as one Conv (what onnxruntime runs fastest: no im2col
 * copies): dW[co, ci, k] = sum_n sum_o g[n, co, o] x_pad[n, ci, o * stride + k * dilation]
 * is a correlation of x with g in which the samples are the contracted channels. Input
 * x as [Cin/G, G * N, spatial] (batch = input channel), weight g as [Cout, N, out spatial]
 * (kernel = the forward's output size), group G, stride = the forward's dilation, dilation =
 * the forward's stride, the forward's begin pads and end pads trimmed so that exactly the
 * kernel's positions come out (cropping x where the forward never read its last rows).
 * Returns the weight's shape.
 */
export function convWeightGrad(b: GraphBuilder, x: string, spatial: readonly number[], g: string, outSpatial: readonly number[], wShape: readonly number[], geo: ConvGeometry): string {
  const [cout = 0, cg = 0] = wShape;
  const sp = spatial.length;
  const groups = geo.group;
  const rest = Array.from({ length: sp }, (_, i) => i + 3);
  const block = b.nchwcBlock;
  const overhang = windowOverhang(spatial, outSpatial, geo);
  const endPads = overhang.map((e) => Math.max(0, e));
  if (block !== undefined && groups === 1 && sp === 2 && cg % block === 0 && overhang.some((e) => e < 0)) {
    // Crop the rows the conv never read in the blocked layout (runs of a channel block: the
    // NCHW crops below copy per row), then one ReorderOutput.
    const kept = spatial.map((n, i) => n + Math.min(0, overhang[i] ?? 0));
    const cropped = b.op1("Slice", [view5(b, toBlocked(b, x), [cg, ...spatial], block), b.i64([0, 0]), b.i64(kept), b.i64([2, 3])]);
    return convWeightGrad(b, fromBlocked(b, b.reshape(cropped, [0, cg, ...kept]), [cg, ...kept]), kept, g, outSpatial, wShape, geo);
  }
  if (cg === 1 && groups === 1 && sp === 2 && (geo.pads.slice(0, sp).some((p) => p > 0) || endPads.some((e) => e > 0))) {
    // One input channel: pad x explicitly and run the weight-gradient Conv without pads, which
    // MLAS runs faster (fmnist_cnn's first conv: 1.45 against 1.53 ms).
    const p = paddedForWeightGrad(b, x, spatial, outSpatial, geo);
    if (p !== undefined) return convWeightGrad(b, p.padded, p.spatial, g, outSpatial, wShape, p.geo);
  }
  // [N, G, Cg, S] -> [Cg, G, N, S] -> [Cg, G*N, S]; [N, G, Cog, So] -> [G, Cog, N, So] -> [Cout, N, So].
  let xin = cg === 1 && groups === 1
    ? b.reshape(x, [1, -1, ...spatial])
    : b.reshape(b.transpose(b.reshape(x, [-1, groups, cg, ...spatial]), [2, 1, 0, ...rest]), [cg, -1, ...spatial]);
  const gin = convGradRows(b, g, cout, groups, outSpatial);
  spatial.forEach((n, i) => {
    const end = overhang[i] ?? 0;
    if (end < 0) xin = b.op("Split", [xin, b.i64([n + end, -end])], [attr.int("axis", i + 2)], 2)[0] ?? "";
  });
  const dw = b.op1("Conv", [xin, gin], [
    attr.ints("kernel_shape", outSpatial), attr.ints("strides", geo.dilations), attr.ints("dilations", geo.strides),
    attr.ints("pads", [...geo.pads.slice(0, sp), ...endPads]), attr.int("group", groups),
  ]);
  // [Cg, Cout, K] -> [Cout, Cg, K].
  return cg === 1 ? b.reshape(dw, wShape) : b.transpose(dw, [1, 0, ...Array.from({ length: sp }, (_, i) => i + 2)]);
}

/**
 * Per spatial axis, how far the conv's last window reaches past the end of its input x: > 0,
 * rows of end padding it reads; < 0, x's last rows that no window reads (a stride-2 conv over
 * 13 rows reads 12).
 */
export function windowOverhang(spatial: readonly number[], outSpatial: readonly number[], geo: ConvGeometry): number[] {
  return spatial.map((n, i) => (geo.dilations[i] ?? 1) * ((geo.kernel[i] ?? 1) - 1) + (geo.strides[i] ?? 1) * ((outSpatial[i] ?? 1) - 1) + 1 - n - (geo.pads[i] ?? 0));
}

/**
 * x zero-padded to exactly the rows and columns the conv reads (its pads, and the end rows its
 * last window reaches), with the geometry of a conv over it without pads; the same Pad as the
 * forward's SpaceToDepth input in the NCHWc lowering, which reuses it. Undefined where the
 * conv never reads x's last rows (a crop, not a pad).
 */
export function paddedForWeightGrad(b: GraphBuilder, x: string, spatial: readonly number[], outSpatial: readonly number[], geo: ConvGeometry): { padded: string; spatial: number[]; geo: ConvGeometry } | undefined {
  const sp = spatial.length;
  const ends = windowOverhang(spatial, outSpatial, geo);
  if (ends.some((e) => e < 0)) return undefined;
  const begins = geo.pads.slice(0, sp);
  if (begins.every((p) => p === 0) && ends.every((e) => e === 0)) return { padded: x, spatial: [...spatial], geo };
  return {
    padded: b.op1("Pad", [x, b.i64([0, 0, ...begins, 0, 0, ...ends])]),
    spatial: spatial.map((n, i) => n + (begins[i] ?? 0) + (ends[i] ?? 0)),
    geo: { ...geo, pads: new Array<number>(2 * sp).fill(0) },
  };
}

/**
 * A Conv's output gradient as [Cout, N, out spatial] (channels first: the weight of the
 * weight-gradient Conv); the bias gradient sums its rows over one flattened axis.
 */
export function convGradRows(b: GraphBuilder, g: string, cout: number, groups: number, outSpatial: readonly number[]): string {
  if (blockedRows(b, cout, groups, outSpatial)) {
    // From g's blocked twin [N, Co/B, Ho, Wo, B]: channel blocks outermost (a Transpose of
    // whole blocked images, none when Co = B), then one ReorderOutput of [Co/B, N * Ho, Wo, B]
    // as a single image moves the channels in front of the samples.
    const block = b.nchwcBlock ?? 1;
    const [ho = 0, wo = 0] = outSpatial;
    const g5 = b.reshape(toBlocked(b, g), [-1, cout / block, ho, wo, block]);
    const outer = cout === block ? g5 : b.transpose(g5, [1, 0, 2, 3, 4]);
    const rows = b.nchwc("ReorderOutput", [b.reshape(outer, [1, cout, -1, wo])], [attr.int("channels", cout)]);
    return b.reshape(rows, [cout, -1, ho, wo]);
  }
  const rest = outSpatial.map((_, i) => i + 3);
  return b.reshape(b.transpose(b.reshape(g, [-1, groups, cout / groups, ...outSpatial]), [1, 2, 0, ...rest]), [cout, -1, ...outSpatial]);
}

/** Whether {@link convGradRows} takes g from its NCHWc twin (2-D, group 1, Cout a multiple of the block). */
export function blockedRows(b: GraphBuilder, cout: number, groups: number, outSpatial: readonly number[]): boolean {
  const block = b.nchwcBlock;
  return block !== undefined && groups === 1 && outSpatial.length === 2 && cout % block === 0;
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
  return b.sumOfProductsPerRow(uu, ggram);
}
