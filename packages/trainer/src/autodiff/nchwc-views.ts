import { attr } from "./attributes.js";
import type { GraphBuilder } from "./graph-builder.js";

/**
 * Helpers for gradient rules that work in onnxruntime's NCHWc layout: a 4-D float tensor
 * [N, C, H, W] whose memory is [N, C/B, H, W, B] (channel blocks of B innermost), C a multiple
 * of B. Rules reorder their NCHW inputs with `ReorderInput` and hand back NCHW results with
 * `ReorderOutput`; nchwc-lowering.ts then drops the reorders that undo each other or that a
 * tensor's blocked twin from the forward makes redundant.
 */

/** `x` (NCHW) in the blocked layout, as a 4-D tensor. */
export function toBlocked(b: GraphBuilder, x: string): string {
  return b.nchwc("ReorderInput", [x]);
}

/** A blocked 4-D tensor as NCHW; records its shape for the lowering's elementwise pass. */
export function fromBlocked(b: GraphBuilder, xb: string, shape: readonly number[]): string {
  const y = b.nchwc("ReorderOutput", [xb], [attr.int("channels", shape[0] ?? 0)]);
  b.blockedShapes.set(y, shape);
  return y;
}

/** The 5-D view [N, C/B, H, W, B] of a blocked 4-D tensor of NCHW shape [N, ...shape] (no copy). */
export function view5(b: GraphBuilder, xb: string, shape: readonly number[], block: number): string {
  const [c = 0, h = 0, w = 0] = shape;
  return b.reshape(xb, [0, c / block, h, w, block]);
}

/** The 4-D blocked tensor of a 5-D view (no copy). */
export function view4(b: GraphBuilder, x5: string, shape: readonly number[]): string {
  return b.reshape(x5, [0, ...shape]);
}

/**
 * x's (NCHW [N, ...shape]) blocked twin as the 5-D view [N, C/B, H', W', B] of the rows and
 * columns some window reads: `begin` rows and columns of zeros in front and, at the end, `end`
 * more (> 0, zeros) or fewer (< 0: cropped, by a Slice, as onnxruntime's Pad with negative
 * pads copies element by element).
 */
export function blockedWindowInput(b: GraphBuilder, x: string, shape: readonly number[], begin: readonly number[], end: readonly number[], block: number): string {
  const [c = 0, h = 0, w = 0] = shape;
  const [pt = 0, pl = 0] = begin;
  const [eh = 0, ew = 0] = end;
  let x5 = b.reshape(toBlocked(b, x), [-1, c / block, h, w, block]);
  if (eh < 0 || ew < 0) x5 = b.op1("Slice", [x5, b.i64([0, 0]), b.i64([h + Math.min(0, eh), w + Math.min(0, ew)]), b.i64([2, 3])]);
  if (pt !== 0 || pl !== 0 || eh > 0 || ew > 0) x5 = b.op1("Pad", [x5, b.i64([0, 0, pt, pl, 0, 0, 0, Math.max(0, eh), Math.max(0, ew), 0])]);
  return x5;
}
