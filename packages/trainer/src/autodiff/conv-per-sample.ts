import { attr } from "./attributes.js";
import type { ConvGeometry } from "./conv-unfold.js";
import type { GraphBuilder } from "./graph-builder.js";
import { blockedWindowInput } from "./nchwc-views.js";

/**
 * A Conv's im2col in a layout built from contiguous copies only. onnxruntime's strided
 * Slice copies element by element (about 1 ns each, plus a per-row cost that dominates for
 * small images), while a Slice of whole contiguous runs is a memcpy. So:
 * - a stride-s 2-D conv becomes a stride-1 conv by SpaceToDepth(s) (channel (dy, dx, c),
 *   kernel k / s), and
 * - each kernel offset (a, b) of a stride-1 conv over a [Hs, Ws] image is one contiguous
 *   Slice of the flattened image, starting at a * d * Ws + b * d, of (Ho - 1) * Ws + Wo
 *   elements: position m = oy * Ws + ox, where columns ox >= Wo are garbage that the output
 *   gradient, laid out the same way with zeros there, cancels.
 * `u` is [N, K' * C', M] (K' = (k/s)^2 offsets, C' = C s^2 channels, M positions) and
 * `layoutGrad` lays an output gradient [N, Co, Ho, Wo] out as [N, Co, M].
 */
export interface ContiguousUnfold {
  readonly u: string;
  readonly layoutGrad: (g: string) => string;
  /** Maps a tensor [..., Co, K' * C'] (per-sample or summed gradients) to [..., Co, C, kh, kw]. */
  readonly toWeightLayout: (w: string, lead: readonly number[]) => string;
}

/** Whether {@link contiguousUnfold} applies: 2-D, one group, equal strides dividing the kernel, no dilation with a stride. */
export function canUnfoldContiguously(spatial: readonly number[], geo: ConvGeometry): boolean {
  const [s = 1, s2 = 1] = geo.strides;
  const [d = 1, d2 = 1] = geo.dilations;
  return spatial.length === 2 && geo.group === 1 && s === s2 &&
    (s === 1 || (d === 1 && d2 === 1 && geo.kernel.every((k) => k % s === 0)));
}

export function contiguousUnfold(b: GraphBuilder, x: string, channels: number, spatial: readonly number[], outSpatial: readonly number[], cout: number, geo: ConvGeometry): ContiguousUnfold {
  const s = geo.strides[0] ?? 1;
  const [kh = 1, kw = 1] = geo.kernel.map((k) => k / s);
  const [dh = 1, dw = 1] = geo.dilations;
  const [h = 0, w = 0] = spatial;
  const [ho = 0, wo = 0] = outSpatial;
  const [pt = 0, pl = 0] = geo.pads;
  // Exactly the rows and columns some window reads: padded where the forward pads, cropped
  // where it never reads (a stride-2 conv over 13 rows reads 12).
  const ws = (kw - 1) * dw + wo;
  const hs = (kh - 1) * dh + ho;
  const endH = hs * s - h - pt, endW = ws * s - w - pl;
  const c2 = channels * s * s;
  const block = b.nchwcBlock;
  let flat: string;
  if (block !== undefined && channels % block === 0) {
    // From x's NCHWc twin [N, C/B, H, W, B]: crop (Slice) or pad to the rows and columns read,
    // a Transpose of B-float runs into [N, dy, dx, C/B, Hs, Ws, B] and one ReorderOutput give
    // SpaceToDepth's layout [N, (dy, dx, c), Hs, Ws] without the NCHW copy of x, its crops and
    // the element-wise SpaceToDepth (fmnist_cnn's second conv in DP: 0.78 -> 0.37 ms).
    const x5 = blockedWindowInput(b, x, [channels, h, w], [pt, pl], [endH, endW], block);
    const phases = s === 1 ? x5 : b.transpose(b.reshape(x5, [-1, channels / block, hs, s, ws, s, block]), [0, 3, 5, 1, 2, 4, 6]);
    const nchw = b.nchwc("ReorderOutput", [b.reshape(phases, [-1, channels, hs, ws])], [attr.int("channels", channels)]);
    flat = b.reshape(nchw, [-1, c2, hs * ws]);
  } else {
    let xs = x;
    if (pt === 0 && pl === 0 && endH <= 0 && endW <= 0) {
      if (endH < 0) xs = b.op("Split", [xs, b.i64([h + endH, -endH])], [attr.int("axis", 2)], 2)[0] ?? "";
      if (endW < 0) xs = b.op("Split", [xs, b.i64([w + endW, -endW])], [attr.int("axis", 3)], 2)[0] ?? "";
    } else if (pt !== 0 || pl !== 0 || endH !== 0 || endW !== 0) {
      xs = b.op1("Pad", [x, b.i64([0, 0, pt, pl, 0, 0, endH, endW])]);
    }
    if (s > 1) xs = b.op1("SpaceToDepth", [xs], [attr.int("blocksize", s)]);
    flat = b.reshape(xs, [0, c2, hs * ws]);
  }
  // Positions m = oy * Ws + ox up to the last real one (the last row's garbage is cut).
  const m = (ho - 1) * ws + wo;
  const axis = b.i64([2]);
  const parts: string[] = [];
  for (let a = 0; a < kh; a++) {
    for (let c = 0; c < kw; c++) {
      const start = a * dh * ws + c * dw;
      parts.push(b.op1("Slice", [flat, b.i64([start]), b.i64([start + m]), axis]));
    }
  }
  // Offsets outermost: the Concat then copies runs of C' * M floats.
  const u = parts.length === 1 ? parts[0] ?? "" : b.op1("Concat", parts, [attr.int("axis", 1)]);
  const layoutGrad = (g: string): string => {
    if (ws === wo) return b.reshape(g, [0, cout, m]);
    const wide = b.op1("Concat", [g, b.zerosOfShape(b.op1("Concat", [b.op1("Shape", [g], [attr.int("end", 3)]), b.i64([ws - wo])], [attr.int("axis", 0)]))], [attr.int("axis", 3)]);
    return b.op1("Slice", [b.reshape(wide, [0, cout, ho * ws]), b.i64([0]), b.i64([m]), b.i64([2])]);
  };
  const toWeightLayout = (t: string, lead: readonly number[]): string => {
    // (a, b, dy, dx, c) -> (c, a, dy, b, dx): kernel row a * s + dy, column b * s + dx.
    const r = lead.length + 1;
    const v = b.reshape(t, [...lead, cout, kh, kw, s, s, channels]);
    const perm = [...Array.from({ length: r }, (_, i) => i), r + 4, r, r + 2, r + 1, r + 3];
    return b.reshape(b.transpose(v, perm), [...lead, cout, channels, kh * s, kw * s]);
  };
  return { u, layoutGrad, toWeightLayout };
}
