import { float32Tensor } from "../onnx/tensor-data.js";
import { attr } from "./attributes.js";
import type { ConvGeometry } from "./conv-unfold.js";
import type { GraphBuilder } from "./graph-builder.js";
import { blockedWindowInput, toBlocked } from "./nchwc-views.js";

/**
 * Weight (and bias) gradient of a 2-D Conv whose input and output channels are multiples of
 * onnxruntime's NCHWc block, as one GEMM in the shape MLAS runs near its peak: many rows, a
 * small right-hand side, the samples and output positions contracted.
 *
 * With stride s dividing the kernel (m = k / s per axis, no dilation, group 1), kernel offset
 * ky = s jy + py reads x at s (y + jy) + py: on the polyphase grid of the rows and columns the
 * conv reads ([Hs, Ws] = output size + m - 1), dW[co, ci, s jy + py, s jx + px] =
 * sum_{n, y, X} xs[n, (ci, py, px), y + jy, X] g[n, co, y, X - jx]. The row offsets jy go to
 * the left-hand side A = [(jy, ci, py, px), (n, y, X)] (one contiguous Slice per jy of the
 * polyphase image's rows), the column offsets jx to the right-hand side
 * B = [(n, y, X), (jx, co)] (g in NHWC, zero-padded by jx columns; X runs over Ws, so the
 * contraction is Ws / Wo larger than the output positions). Building A from the blocked input
 * (channel blocks of B floats innermost) takes one Pad/crop to the rows read, one Transpose of
 * B-float runs into [channel block, py, px, n, Hs, Ws, B] and one `ReorderOutput` of the whole
 * batch as a single image, which moves the channels outermost at once.
 *
 * fmnist_cnn's second conv (16 -> 32, 4x4, stride 2, 13x13 input, batch 256): 0.55 ms for the
 * MatMul [128, 7680] x [7680, 64] against 1.42 for the weight-gradient Conv (M = 32, N = 16
 * output positions per channel of x), whose input needed the same number of copies.
 * Returns undefined where the geometry does not fit.
 */
export function blockedConvWeightGrad(b: GraphBuilder, x: string, spatial: readonly number[], g: string, outSpatial: readonly number[], wShape: readonly number[], geo: ConvGeometry, batch?: number): { weight: string; bias: string } | undefined {
  const block = b.nchwcBlock;
  const [cout = 0, cin = 0, kh = 0, kw = 0] = wShape;
  const [s = 1, s2 = 1] = geo.strides;
  if (block === undefined || wShape.length !== 4 || spatial.length !== 2 || geo.group !== 1 || s !== s2) return undefined;
  if (cin % block !== 0 || cout % block !== 0 || kh % s !== 0 || kw % s !== 0 || geo.dilations.some((d) => d !== 1)) return undefined;
  const [h = 0, w = 0] = spatial;
  const [ho = 0, wo = 0] = outSpatial;
  const mh = kh / s, mw = kw / s;
  const hs = ho + mh - 1, ws = wo + mw - 1;
  const [pt = 0, pl = 0] = geo.pads;
  // x's blocked twin as [N, Cin/B, H, W, B], padded or cropped to the rows and columns read.
  const x5 = blockedWindowInput(b, x, [cin, h, w], [pt, pl], [s * hs - h - pt, s * ws - w - pl], block);
  // [N, Cb, Hs, s, Ws, s, B] -> [Cb, py, px, N, Hs, Ws, B]; the ReorderOutput of that as one image gives [Cin, s, s, N, Hs, Ws].
  const phases = b.transpose(b.reshape(x5, [-1, cin / block, hs, s, ws, s, block]), [1, 3, 5, 0, 2, 4, 6]);
  const flat = b.nchwc("ReorderOutput", [b.reshape(phases, [1, cin, -1, ws])], [attr.int("channels", cin)]);
  const rows = cin * s * s;
  const image = b.reshape(flat, [rows, -1, hs * ws]);
  const parts: string[] = [];
  for (let jy = 0; jy < mh; jy++) {
    parts.push(mh === 1 && hs === ho ? image : b.op1("Slice", [image, b.i64([jy * ws]), b.i64([(jy + ho) * ws]), b.i64([2])]));
  }
  // A last row of ones: its product row is the column sums of B, the bias gradient (for every
  // jx block: each holds every output gradient once), at no extra pass over g.
  const first = parts[0] ?? "";
  const onesShape = batch !== undefined ? b.i64([1, batch, ho * ws]) : b.op1("Concat", [b.i64([1]), b.op1("Slice", [b.shapeOf(first), b.i64([1]), b.i64([3])])], [attr.int("axis", 0)]);
  parts.push(b.op1("ConstantOfShape", [onesShape], [attr.tensor("value", float32Tensor("", [1], Float32Array.of(1)))]));
  const a = b.reshape(b.op1("Concat", parts, [attr.int("axis", 0)]), [mh * rows + 1, -1]);
  // g's blocked twin [N, Co/B, Ho, Wo, B] -> NHWC [N, Ho, Wo, Co]; one copy per jx, shifted by jx columns.
  const g5 = b.reshape(toBlocked(b, g), [-1, cout / block, ho, wo, block]);
  const nhwc = b.reshape(b.transpose(g5, [0, 2, 3, 1, 4]), [-1, ho, wo, 1, cout]);
  const shifted: string[] = [];
  for (let jx = 0; jx < mw; jx++) shifted.push(mw === 1 ? nhwc : b.op1("Pad", [nhwc, b.i64([0, 0, jx, 0, 0, 0, 0, mw - 1 - jx, 0, 0])]));
  const rhs = b.reshape(shifted.length === 1 ? shifted[0] ?? "" : b.op1("Concat", shifted, [attr.int("axis", 3)]), [-1, mw * cout]);
  const [dw = "", sums = ""] = b.op("Split", [b.matmul(a, rhs), b.i64([mh * rows, 1])], [attr.int("axis", 0)], 2);
  // [(jy, ci, py, px), (jx, co)] -> [co, ci, jy, py, jx, px] = [co, ci, kh, kw].
  const weight = b.reshape(b.transpose(b.reshape(dw, [mh, cin, s, s, mw, cout]), [5, 1, 0, 2, 4, 3]), [cout, cin, kh, kw]);
  const bias = b.reshape(mw === 1 ? sums : b.op1("Slice", [sums, b.i64([0]), b.i64([cout]), b.i64([1])]), [cout]);
  return { weight, bias };
}
