import { attr } from "./attributes.js";
import type { ConvGeometry } from "./conv-unfold.js";
import type { GraphBuilder } from "./graph-builder.js";
import { fromBlocked, toBlocked } from "./nchwc-views.js";

/**
 * Input gradient of a strided 2-D Conv on onnxruntime's NCHWc kernels, where its ConvTranspose
 * (a GEMM and a col2im per image) is slow: fmnist_cnn's second conv, 1.5 ms at batch 256,
 * against 0.55 ms for this convolution. Needs group 1, no dilation, each stride s dividing the
 * kernel k (m = k / s) and both channel counts multiples of the block.
 *
 * Polyphase form: writing the kernel offset as s * j + p, the transposed convolution's output
 * at s * Y + p is sum_j g[Y - j] W[s * j + p], a stride-1 full correlation of g with the flipped
 * m x m sub-kernel of phase p. One stride-1 Conv over g (pads m - 1) computes every phase as
 * its own block of output channels, channel (py * sx + px) * Cin + ci; interleaving the
 * phases (a Transpose of channel blocks in the blocked layout: DepthToSpace) gives the full
 * transposed convolution, which the forward's pads crop (or, where the forward never read the
 * last rows, zero-extend) to the input's size. Returns the NCHW gradient, or undefined when
 * the geometry does not fit.
 */
export function polyphaseConvInputGrad(b: GraphBuilder, g: string, w: string, geo: ConvGeometry, wShape: readonly number[], inSpatial: readonly number[], outSpatial: readonly number[]): string | undefined {
  const block = b.nchwcBlock;
  const [cout = 0, cin = 0] = wShape;
  if (block === undefined || wShape.length !== 4 || geo.group !== 1 || geo.dilations.some((d) => d !== 1)) return undefined;
  if (cout % block !== 0 || cin % block !== 0 || geo.kernel.some((k, i) => k % (geo.strides[i] ?? 1) !== 0)) return undefined;
  const [sh = 1, sw = 1] = geo.strides;
  const [mh = 1, mw = 1] = geo.kernel.map((k, i) => k / (geo.strides[i] ?? 1));
  const phases = sh * sw;
  // W[co, ci, mh*sh, mw*sw] -> Wp[(py, px, ci), co, jy, jx] = W[co, ci, s*(m-1-jy)+py, s*(m-1-jx)+px],
  // directly in MLAS's OIHWBiBo filter layout (see nchwc-lowering.ts): one flip and one Transpose
  // of [Co/B, Bco, Ci/B, Bci, mh, sh, mw, sw] into [(py, px, Ci/B), Co/B, jy, jx, Bco, Bci].
  const w8 = b.reshape(w, [cout / block, block, cin / block, block, mh, sh, mw, sw]);
  const flipped = b.op1("Slice", [w8, b.i64([-1, -1]), b.i64([-(2 ** 53), -(2 ** 53)]), b.i64([4, 6]), b.i64([-1, -1])]);
  const wpb = b.reshape(b.transpose(flipped, [5, 7, 2, 0, 4, 6, 1, 3]), [phases * cin, cout, mh, mw]);
  const z = b.nchwc("Conv", [toBlocked(b, g), wpb], [attr.ints("kernel_shape", [mh, mw]), attr.ints("pads", [mh - 1, mw - 1, mh - 1, mw - 1])]);
  const zh = (outSpatial[0] ?? 0) + mh - 1, zw = (outSpatial[1] ?? 0) + mw - 1;
  // Blocked memory [N, sh, sw, Cin/B, Zh, Zw, B] -> [N, Cin/B, Zh, sh, Zw, sw, B] = [N, Cin/B, Zh*sh, Zw*sw, B].
  const z7 = b.reshape(z, [0, sh, sw, cin / block, zh, zw, block]);
  let full = b.reshape(b.transpose(z7, [0, 3, 4, 1, 5, 2, 6]), [0, cin / block, zh * sh, zw * sw, block]);
  const lengths = [zh * sh, zw * sw];
  const begin = [geo.pads[0] ?? 0, geo.pads[1] ?? 0];
  const starts: number[] = [], ends: number[] = [], extend: number[] = [];
  inSpatial.forEach((x, i) => {
    const available = (lengths[i] ?? 0) - (begin[i] ?? 0);
    starts.push(begin[i] ?? 0);
    ends.push((begin[i] ?? 0) + Math.min(x, available));
    extend.push(Math.max(0, x - available));
  });
  if (starts.some((s) => s > 0) || ends.some((e, i) => e < (lengths[i] ?? 0))) {
    full = b.op1("Slice", [full, b.i64(starts), b.i64(ends), b.i64([2, 3])]);
  }
  if (extend.some((e) => e > 0)) full = b.op1("Pad", [full, b.i64([0, 0, 0, 0, 0, 0, 0, extend[0] ?? 0, extend[1] ?? 0, 0])]);
  const shape = [cin, ...inSpatial];
  return fromBlocked(b, b.reshape(full, [0, ...shape]), shape);
}
