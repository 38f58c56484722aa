import { attr } from "./attributes.js";
import type { ConvGeometry } from "./conv-unfold.js";
import type { GraphBuilder } from "./graph-builder.js";
import { toBlocked } from "./nchwc-views.js";

/**
 * Weight and bias gradient of a 2-D Conv with one input channel (a first layer on grayscale
 * images) as one NCHWc Conv: dW[co, 0, k] = sum_{n, o} g[n, co, o] x_pad[n, o * s + k * d] is
 * a correlation of x with g in which the samples are the contracted channels (see
 * convWeightGrad), and with the samples a multiple of the block they are a blocked input:
 * MLAS's direct NCHWc kernel then runs it without the plain Conv's im2col of N x (output
 * size) rows (fmnist_cnn's first conv at batch 256: 1.5 ms -> 0.85, plus 0.2 for the filter's
 * Transpose against 0.14 for the plain Conv's ReorderOutput).
 *
 * The filter is g in MLAS's OIHWBiBo layout, [Co/B, N/B, Ho, Wo, Bi, Bo], one Transpose of
 * B-float runs from g's blocked twin [N, Co/B, Ho, Wo, B]; the input is x as one image of N
 * channels, one ReorderInput.
 * Returns undefined where the geometry does not fit.
 */
export function blockedSingleChannelWeightGrad(
  b: GraphBuilder, padded: string, spatial: readonly number[], g: string, outSpatial: readonly number[],
  wShape: readonly number[], geo: ConvGeometry, batch: number | undefined,
): { weight: string; bias: string } | undefined {
  const block = b.nchwcBlock;
  const [cout = 0, cg = 0] = wShape;
  if (block === undefined || batch === undefined || batch % block !== 0 || cg !== 1 || geo.group !== 1 || cout % block !== 0) return undefined;
  if (spatial.length !== 2 || geo.pads.some((p) => p !== 0)) return undefined;
  const [ho = 0, wo = 0] = outSpatial;
  const xb = toBlocked(b, b.reshape(padded, [1, batch, ...spatial]));
  const g6 = b.reshape(toBlocked(b, g), [batch / block, block, cout / block, ho, wo, block]);
  const filter = b.reshape(b.transpose(g6, [2, 0, 3, 4, 1, 5]), [cout, batch, ho, wo]);
  const dw = b.nchwc("Conv", [xb, filter], [
    attr.ints("kernel_shape", outSpatial), attr.ints("strides", geo.dilations), attr.ints("dilations", geo.strides),
    attr.ints("pads", [0, 0, 0, 0]), attr.int("group", 1),
  ]);
  const weight = b.reshape(b.nchwc("ReorderOutput", [dw], [attr.int("channels", cout)]), wShape);
  // Column sums of g's blocked rows: with Co = B, 16 rows at a time first (onnxruntime sums a
  // tall [R, 16] slowly: 0.175 ms for fmnist_cnn's, against 0.08 for the two stages).
  const rows = batch * ho * wo;
  const bias = cout === block && rows % 16 === 0
    ? b.reduceSum(b.reshape(b.reduceSum(b.reshape(g6, [rows / 16, 16 * block]), [0], false), [16, block]), [0], false)
    : b.reshape(b.reduceSum(b.reshape(g6, [batch, cout / block, -1, block]), [0, 2], false), [cout]);
  return { weight, bias };
}
