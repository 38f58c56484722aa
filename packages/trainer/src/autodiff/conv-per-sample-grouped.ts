import { attr } from "./attributes.js";
import type { ConvGeometry } from "./conv-unfold.js";
import type { GraphBuilder } from "./graph-builder.js";
import { blockedBiasGrad, samplesAsChannels } from "./nchwc-samples-weight-grad.js";
import { toBlocked } from "./nchwc-views.js";

/**
 * Whether an NCHWc Conv over an NCHW input of `channels` channels in groups of one runs:
 * onnxruntime's NchwcConv takes an input with fewer channels than the block or a multiple of
 * it (it refuses fmnist_cnn's headline physical batch of 446 samples as channels).
 */
function nchwcGroupedFits(block: number | undefined, channels: number): block is number {
  return block !== undefined && (channels < block || channels % block === 0);
}

/**
 * Whether {@link groupedPerSampleConvGrad} applies: a 2-D Conv with one input channel per
 * group (a first layer on grayscale images, a depthwise conv), no dilation, and a graph built
 * for one physical batch size (the group count of the Conv it emits).
 */
export function canGroupPerSample(spatial: readonly number[], paramShape: readonly number[], geo: ConvGeometry, batch: number | undefined): batch is number {
  return batch !== undefined && spatial.length === 2 && paramShape[1] === 1 && geo.dilations.every((d) => d === 1);
}

/**
 * Per-sample weight gradients [B, Cout, 1, kh, kw] of such a Conv as one grouped Conv:
 * dW_b[o, 0, i, j] = sum_{y,x} g_b[o, y, x] xpad_b[c(o), s y + i, s x + j] is, with the
 * samples' channels as B * C groups of one channel and each sample's output gradient as the
 * filters of its groups (dilated by the stride), a correlation whose output is the kernel.
 * onnxruntime runs it faster than an im2col plus a batched MatMul (fmnist_cnn's first conv
 * at batch 256: about 1.7 ms against 2.8), and faster still as an NCHWc Conv.
 */
export function groupedPerSampleConvGrad(b: GraphBuilder, x: string, g: string, spatial: readonly number[], outSpatial: readonly number[], paramShape: readonly number[], geo: ConvGeometry, batch: number): string {
  const [cout = 0, , kh = 1, kw = 1] = paramShape;
  const channels = geo.group;
  const [h = 0, w = 0] = spatial;
  const [ho = 0, wo = 0] = outSpatial;
  const [sh = 1, sw = 1] = geo.strides;
  const [pt = 0, pl = 0, pb = 0, pr = 0] = geo.pads;
  const padded = pt + pl + pb + pr === 0 ? x : b.op1("Pad", [x, b.i64([0, 0, pt, pl, 0, 0, pb, pr])]);
  const hp = h + pt + pb;
  const wp = w + pl + pr;
  const input = b.reshape(padded, [1, batch * channels, hp, wp]);
  const block = b.nchwcBlock;
  const convAttrs = [attr.ints("kernel_shape", [ho, wo]), attr.ints("dilations", [sh, sw]), attr.int("group", batch * channels)];
  let grads: string;
  if (nchwcGroupedFits(block, batch * channels) && channels === 1 && cout % block === 0) {
    // MLAS's NCHWc conv over an NCHW input (one channel per group) takes its filters in the
    // layout [groups * Cout/B, 1, kh, kw, B], which is g's blocked twin as it is: no reorder of
    // g and no im2col (fmnist_cnn's first conv at batch 256: 1.6 -> 0.85 ms).
    const filters = b.reshape(toBlocked(b, g), [batch * cout, 1, ho, wo]);
    grads = b.nchwc("ReorderOutput", [b.nchwc("Conv", [input, filters], [...convAttrs, attr.ints("strides", [1, 1]), attr.ints("pads", [0, 0, 0, 0])])], [attr.int("channels", batch * cout)]);
  } else {
    const filters = b.reshape(g, [batch * cout, 1, ho, wo]);
    grads = b.op1("Conv", [input, filters], convAttrs);
  }
  // Rows and columns past the last window's reach (the forward never read them) give extra
  // output positions: keep the kernel's.
  const [oh, ow] = [hp - sh * (ho - 1), wp - sw * (wo - 1)];
  if (oh !== kh || ow !== kw) grads = b.op1("Slice", [grads, b.i64([0, 0]), b.i64([kh, kw]), b.i64([2, 3])]);
  return b.reshape(grads, [batch, cout, 1, kh, kw]);
}

/** Per-sample gradients of a Conv weight [Cout, Cin, kh, kw] as {@link blockedPerSampleConvGrads} gives them. */
export interface SamplesGroupedGrads {
  /** Blocked memory [Cin, N, Cout/B, kh, kw, B], viewed as [Cin, N, Cout * kh * kw]. */
  readonly grads: string;
  /** A [Cin, 1, Cout * kh * kw] tensor (the same memory order) in the weight's layout. */
  readonly toWeight: (t: string) => string;
}

/**
 * Per-sample weight gradients of a group-1 Conv whose input channels are a multiple of the
 * NCHWc block, as one NCHWc Conv grouped by sample: x as Cin images of N channels
 * ({@link samplesAsChannels}), each sample's output gradient the filters of its group (g's
 * blocked twin as it is: [N * Cout/B, 1, Ho, Wo, B] is MLAS's filter layout for one input
 * channel per group), dilated by the stride. The output keeps every sample apart: [Cin, N *
 * Cout, kh, kw]. Replaces an im2col and a batched MatMul whose contraction is the few output
 * positions of one sample (fmnist_cnn's second conv: 25).
 * Undefined where the geometry does not fit.
 */
export function blockedPerSampleConvGrads(b: GraphBuilder, x: string, g: string, spatial: readonly number[], outSpatial: readonly number[], paramShape: readonly number[], geo: ConvGeometry, batch: number | undefined): SamplesGroupedGrads | undefined {
  const block = b.nchwcBlock;
  const [cout = 0, cin = 0, kh = 0, kw = 0] = paramShape;
  if (batch === undefined || !nchwcGroupedFits(block, batch) || geo.group !== 1 || cin % block !== 0 || cout % block !== 0 || paramShape.length !== 4) return undefined;
  const samples = samplesAsChannels(b, x, spatial, outSpatial, cin, geo, batch);
  if (samples === undefined) return undefined;
  const { input, pads, outSize: [oh, ow] } = samples;
  if (oh !== kh || ow !== kw) return undefined;
  const filters = b.reshape(toBlocked(b, g), [batch * cout, 1, ...outSpatial]);
  const conv = b.nchwc("Conv", [input, filters], [
    attr.ints("kernel_shape", outSpatial), attr.ints("strides", geo.dilations), attr.ints("dilations", geo.strides),
    attr.ints("pads", pads), attr.int("group", batch),
  ]);
  return {
    grads: b.reshape(conv, [cin, batch, cout * kh * kw]),
    // [Cin, Cout/B, kh, kw, B] -> [Cout/B, B, Cin, kh, kw].
    toWeight: (t) => b.reshape(b.transpose(b.reshape(t, [cin, cout / block, kh, kw, block]), [1, 4, 0, 2, 3]), [cout, cin, kh, kw]),
  };
}

/**
 * Summed weight and bias gradient of a one-input-channel conv (group 1) in the NCHWc layout, as
 * the sum over samples of {@link groupedPerSampleConvGrad}: each sample's gradient is only
 * Cout x kh x kw floats, and the grouped Conv reads g's blocked twin as it is, where the Conv
 * over the samples needs it transposed into its filter layout (fmnist_cnn's first conv at
 * batch 256: about 0.9 ms against 1.2).
 */
export function summedGroupedConvWeightGrad(b: GraphBuilder, x: string, g: string, spatial: readonly number[], outSpatial: readonly number[], wShape: readonly number[], geo: ConvGeometry, batch: number | undefined): { weight: string; bias: string } | undefined {
  const block = b.nchwcBlock;
  const [cout = 0] = wShape;
  if (!canGroupPerSample(spatial, wShape, geo, batch) || !nchwcGroupedFits(block, batch) || geo.group !== 1 || cout % block !== 0) return undefined;
  const perSample = groupedPerSampleConvGrad(b, x, g, spatial, outSpatial, wShape, geo, batch);
  return {
    weight: b.reshape(b.reduceSum(b.reshape(perSample, [batch, -1]), [0], false), wShape),
    bias: blockedBiasGrad(b, g, cout, outSpatial, batch),
  };
}
