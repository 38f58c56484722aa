import { attr } from "./attributes.js";
import { type ConvGeometry, paddedForWeightGrad, windowOverhang } from "./conv-unfold.js";
import type { GraphBuilder } from "./graph-builder.js";
import { blockedWindowInput, toBlocked } from "./nchwc-views.js";

/**
 * Weight and bias gradient of a 2-D Conv as one NCHWc Conv in which the samples are the
 * contracted channels: dW[co, ci, k] = sum_{n, o} g[n, co, o] x_pad[n, ci, o * s + k * d] is a
 * correlation of x (batch Cin, channels N) with g (filters Cout x N, kernel = the forward's
 * output size, dilated by its stride; see convWeightGrad). With the samples a multiple of the
 * block they are a blocked input, and MLAS's direct NCHWc kernel runs it without the plain
 * Conv's im2col of N x (output size) rows.
 *
 * - The filter is g in MLAS's OIHWBiBo layout, [Co/B, N/B, Ho, Wo, Bi, Bo]: one Transpose of
 *   B-float runs from g's blocked twin [N, Co/B, Ho, Wo, B].
 * - The input: x as one image of N channels (one input channel: a Reshape), or, with Cin a
 *   multiple of the block, x's blocked twin as one image whose `ReorderOutput` puts the
 *   channels in front of the samples, then one `ReorderInput`.
 *
 * fmnist_cnn at batch 256: the second conv 1.75 -> 1.25 ms with the reorders (against the
 * polyphase GEMM of nchwc-conv-weight-grad.ts); the first conv 1.6 -> 1.2, though a
 * one-channel conv takes summedGroupedConvWeightGrad, faster still (no filter Transpose).
 * Returns undefined where the geometry does not fit.
 */
export function samplesAsChannelsWeightGrad(
  b: GraphBuilder, x: string, spatial: readonly number[], g: string, outSpatial: readonly number[],
  wShape: readonly number[], geo: ConvGeometry, batch: number | undefined,
): { weight: string; bias: string } | undefined {
  const block = b.nchwcBlock;
  const [cout = 0, cin = 0, kh = 0, kw = 0] = wShape;
  if (block === undefined || batch === undefined || batch % block !== 0 || geo.group !== 1 || cout % block !== 0) return undefined;
  const [ho = 0, wo = 0] = outSpatial;
  const samples = samplesAsChannels(b, x, spatial, outSpatial, cin, geo, batch);
  if (samples === undefined) return undefined;
  const { input, pads, outSize: [oh, ow] } = samples;
  const g6 = b.reshape(toBlocked(b, g), [batch / block, block, cout / block, ho, wo, block]);
  const filter = b.reshape(b.transpose(g6, [2, 0, 3, 4, 1, 5]), [cout, batch, ho, wo]);
  const dw = b.nchwc("Conv", [toBlocked(b, input), filter], [
    attr.ints("kernel_shape", outSpatial), attr.ints("strides", geo.dilations), attr.ints("dilations", geo.strides),
    attr.ints("pads", pads), attr.int("group", 1),
  ]);
  // [Cin, Cout, kh', kw'], kh' >= kh where the conv never read x's last rows: keep the kernel's.
  let full = b.nchwc("ReorderOutput", [dw], [attr.int("channels", cout)]);
  if (oh !== kh || ow !== kw) full = b.op1("Slice", [full, b.i64([0, 0]), b.i64([kh, kw]), b.i64([2, 3])]);
  const weight = cin === 1 ? b.reshape(full, wShape) : b.transpose(full, [1, 0, 2, 3]);
  const bias = blockedBiasGrad(b, g, cout, outSpatial, batch);
  return { weight, bias };
}

/** x as Cin images of N channels, NCHW [Cin, N, h, w], and the pads of the correlation over it. */
export interface SamplesAsChannels {
  readonly input: string;
  readonly pads: readonly number[];
  /** The correlation's output size (the kernel's, or larger where x keeps rows the forward never read). */
  readonly outSize: readonly number[];
}

/**
 * x [N, Cin, H, W] as the input of a correlation with g whose contracted (or grouped)
 * channels are the samples: [Cin, N, h, w]. One input channel: x padded explicitly (the same
 * Pad as the forward's SpaceToDepth input in nchwc-lowering.ts, which reuses it). Cin a
 * multiple of the block: x's blocked twin as one image, whose `ReorderOutput` puts the
 * channels in front of the samples, after cropping the rows and columns the forward never read
 * (in the blocked layout, where a crop copies runs of B floats), so that the correlation
 * computes no output position past the kernel. Undefined for other channel counts.
 */
export function samplesAsChannels(b: GraphBuilder, x: string, spatial: readonly number[], outSpatial: readonly number[], cin: number, geo: ConvGeometry, batch: number): SamplesAsChannels | undefined {
  const block = b.nchwcBlock;
  if (block === undefined || spatial.length !== 2) return undefined;
  /** Output size of the correlation over `inSpatial` with `pads`: stride = the forward's dilation, dilation = its stride. */
  const outSize = (inSpatial: readonly number[], pads: readonly number[]): number[] =>
    inSpatial.map((n, i) => Math.floor((n + (pads[i] ?? 0) + (pads[i + 2] ?? 0) - (geo.strides[i] ?? 1) * ((outSpatial[i] ?? 1) - 1) - 1) / (geo.dilations[i] ?? 1)) + 1);
  if (cin === 1) {
    const p = paddedForWeightGrad(b, x, spatial, outSpatial, geo);
    return p === undefined ? undefined : { input: b.reshape(p.padded, [1, batch, ...p.spatial]), pads: [0, 0, 0, 0], outSize: outSize(p.spatial, [0, 0, 0, 0]) };
  }
  if (cin % block !== 0) return undefined;
  const ends = windowOverhang(spatial, outSpatial, geo);
  const kept = spatial.map((n, i) => n + Math.min(0, ends[i] ?? 0));
  const [h = 0, w = 0] = kept;
  // (The view and crop as max-pool-grad.ts writes them: a pool's output read by this conv is
  // cropped once, onnxruntime's common-subexpression pass merging the two.)
  const x5 = blockedWindowInput(b, x, [cin, ...spatial], [0, 0], ends.map((e) => Math.min(0, e)), block);
  const outer = cin === block ? x5 : b.transpose(x5, [1, 0, 2, 3, 4]);
  const input = b.reshape(b.nchwc("ReorderOutput", [b.reshape(outer, [1, cin, -1, w])], [attr.int("channels", cin)]), [cin, batch, h, w]);
  const pads = [geo.pads[0] ?? 0, geo.pads[1] ?? 0, ...ends.map((e) => Math.max(0, e))];
  return { input, pads, outSize: outSize(kept, pads) };
}

/**
 * A conv's bias gradient, the column sums of g's blocked twin [N, Co/B, Ho, Wo, B] (Co a
 * multiple of the block). onnxruntime sums a tall [R, 16] slowly (0.175 ms for fmnist_cnn's
 * first conv), a short and very wide one too (0.5 ms for [16, 50176]), and over two axes more
 * slowly still (0.157 for its second): first rows of 16 x B (Co = B) or one sample's
 * Co/B x Ho x Wo x B (0.04 to 0.07), then the small rest.
 */
export function blockedBiasGrad(b: GraphBuilder, g: string, cout: number, outSpatial: readonly number[], batch: number): string {
  const block = b.nchwcBlock ?? 1;
  const positions = outSpatial.reduce((a, c) => a * c, 1);
  const g5 = b.reshape(toBlocked(b, g), [batch, cout / block, positions, block]);
  if (cout === block && (batch * positions) % 16 === 0) {
    return b.reduceSum(b.reshape(b.reduceSum(b.reshape(g5, [-1, 16 * block]), [0], false), [16, block]), [0], false);
  }
  const sums = b.reduceSum(b.reshape(g5, [batch, -1]), [0], false);
  return b.reshape(b.reduceSum(b.reshape(sums, [cout / block, positions, block]), [1], false), [cout]);
}
