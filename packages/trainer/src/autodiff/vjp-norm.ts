import { attrFloat, attrInt } from "./attributes.js";
import { normAxis } from "./shape-helpers.js";
import { staticDim } from "./sym-dim.js";
import { type VjpContext, type VjpRule, gradOf, shapeOf, staticShape } from "./vjp-context.js";

/** Normalized input and inverse std of a normalization node, plus the normalized axes. */
export interface Normalized {
  readonly xhat: string;
  readonly invStd: string;
  readonly axes: number[];
  /** Shape the scale and bias broadcast as (1 on every other axis). */
  readonly aligned: number[];
}

/**
 * LayerNormalization (opset 17): the forward node is given its optional Mean and InvStdDev
 * outputs, so x_hat = (x - mean) * inv_std costs one fused pass and nothing is recomputed.
 */
export function layerNormParts(ctx: VjpContext): Normalized {
  const { b, node } = ctx;
  const x = node.input[0] ?? "";
  const xs = shapeOf(ctx, x);
  const axis = normAxis(attrInt(node, "axis", -1), xs.length);
  const mean = node.output[1] ?? "";
  const invStd = node.output[2] ?? "";
  const xhat = b.mul(b.sub(x, mean), invStd);
  const axes = Array.from({ length: xs.length - axis }, (_, i) => axis + i);
  const dims = xs.map((d, i) => (i < axis ? 1 : (staticDim(d) ?? 1)));
  return { xhat, invStd, axes, aligned: dims };
}

/** InstanceNormalization: statistics over the spatial axes, recomputed (ONNX has no stats outputs). */
export function instanceNormParts(ctx: VjpContext): Normalized {
  const { b, node } = ctx;
  const x = node.input[0] ?? "";
  const xs = shapeOf(ctx, x);
  const eps = attrFloat(node, "epsilon", 1e-5);
  const axes = Array.from({ length: xs.length - 2 }, (_, i) => i + 2);
  const centered = b.sub(x, b.reduceMean(x, axes, true));
  const variance = b.reduceMean(b.mul(centered, centered), axes, true);
  const invStd = b.op1("Reciprocal", [b.op1("Sqrt", [b.add(variance, b.f32(eps))])]);
  const channels = staticShape(ctx, x, 1)[0] ?? 1;
  return { xhat: b.mul(centered, invStd), invStd, axes, aligned: xs.map((_, i) => (i === 1 ? channels : 1)) };
}

function normRule(parts: (ctx: VjpContext) => Normalized, scaleShape: (ctx: VjpContext, p: Normalized) => string): VjpRule {
  return (ctx) => {
    const { b, node } = ctx;
    const g = gradOf(ctx);
    const p = parts(ctx);
    const out: (string | undefined)[] = node.input.map(() => undefined);
    // Scale and bias gradients: sum over every axis the parameter broadcasts along.
    const other = p.aligned.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
    if (ctx.want[0]) {
      // dx = inv_std * (dxh - mean(dxh) - x_hat * mean(dxh * x_hat)), dxh = g * scale.
      const dxh = b.mul(g, scaleShape(ctx, p));
      const m1 = b.reduceMean(dxh, p.axes, true);
      const m2 = b.reduceMean(b.mul(dxh, p.xhat), p.axes, true);
      out[0] = b.mul(p.invStd, b.sub(b.sub(dxh, m1), b.mul(p.xhat, m2)));
    }
    const reduce = (e: string, name: string): string => b.reshape(b.reduceSum(e, other, true), staticShape(ctx, name));
    if (ctx.want[1]) out[1] = reduce(b.mul(g, p.xhat), node.input[1] ?? "");
    if (ctx.want[2] && node.input[2] !== undefined && node.input[2] !== "") out[2] = reduce(g, node.input[2]);
    return out;
  };
}

/** Rules for LayerNormalization and InstanceNormalization (GroupNorm's core in PyTorch exports). */
export const normRules: Readonly<Record<string, VjpRule>> = {
  LayerNormalization: normRule(layerNormParts, (ctx) => ctx.node.input[1] ?? ""),
  InstanceNormalization: normRule(instanceNormParts, (ctx, p) => ctx.b.reshape(ctx.node.input[1] ?? "", p.aligned.slice(1))),
};
