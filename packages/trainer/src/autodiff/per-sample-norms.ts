import { TrainerError } from "../trainer-error.js";
import { attrFloat, attrInt } from "./attributes.js";
import { perSampleReduce, perSampleSquaredNorm, toBatchMajor, batchOf } from "./batch-layout.js";
import { canUnfoldContiguously, contiguousUnfold } from "./conv-per-sample.js";
import { blockedPerSampleConvGrads, canGroupPerSample, groupedPerSampleConvGrad } from "./conv-per-sample-grouped.js";
import { type ConvGeometry, convGeometry, ghostConvSquaredNorm, perSampleConvGrad } from "./conv-unfold.js";
import type { GraphBuilder } from "./graph-builder.js";
import { type VjpContext, gradOf, staticShape } from "./vjp-context.js";
import { binaryUnreduced } from "./vjp-elementwise.js";
import { instanceNormParts, layerNormParts } from "./vjp-norm.js";

/** Per-sample contribution of one parameter use to the squared gradient norms. */
export interface PerSampleUse {
  /** Squared L2 norm of each sample's gradient w.r.t. this input, float32 [B]. */
  readonly squaredNorm: string;
  /** Sum over samples of c[b] times each sample's gradient, when cheaper from the materialized form. */
  readonly clippedSum?: (c: string) => string;
}

/**
 * Squared norms of per-sample gradients of y = x W (x [B, T, k], g = dL/dy [B, T, n]):
 * ||x_b^T g_b||_F^2 either as <x_b x_b^T, g_b g_b^T> (ghost norm, Li et al. 2021, O(T^2 (k+n)))
 * or by materializing x_b^T g_b (O(T k n)), whichever costs less; T = 1 gives ||x_b||^2 ||g_b||^2.
 */
function matmulSquaredNorm(b: GraphBuilder, x: { name: string; t: number }, g: { name: string; t: number }, k: number, n: number): string {
  const t = x.t;
  if (t === 1) return b.mul(b.sumOfSquaresPerRow(x.name), b.sumOfSquaresPerRow(g.name));
  if (t * (k + n) < k * n) {
    const xx = b.matmul(x.name, b.transpose(x.name, [0, 2, 1]));
    const gg = b.matmul(g.name, b.transpose(g.name, [0, 2, 1]));
    return b.sumOfProductsPerRow(xx, gg);
  }
  return b.sumOfSquaresPerRow(b.matmul(b.transpose(x.name, [0, 2, 1]), g.name));
}

function materialized(b: GraphBuilder, ps: string, paramShape: readonly number[]): PerSampleUse {
  return {
    squaredNorm: perSampleSquaredNorm(b, ps, paramShape.length + 1),
    clippedSum: (c) => b.reshape(b.matmul(b.reshape(c, [1, -1]), b.reshape(ps, [0, -1])), paramShape),
  };
}

/** Weights up to this many elements get materialized per-sample gradients (16 MiB at batch 256). */
const MATERIALIZE_MAX_WEIGHT = 16384;

/**
 * A 2-D Conv weight's per-sample norms from the contiguous im2col (conv-per-sample.ts):
 * small weights materialize the per-sample gradients (U_n g_n^T, transposed), which also
 * give the clipped sum as one small MatMul (cheaper in onnxruntime than a second
 * weight-gradient Conv); large ones take the ghost identity <U_n^T U_n, g_n^T g_n> over
 * positions (garbage positions have g = 0), and the clipped sum comes from the Conv rule.
 */
function contiguousConvUse(b: GraphBuilder, x: string, g: string, spatial: readonly number[], outSpatial: readonly number[], paramShape: readonly number[], geo: ConvGeometry): PerSampleUse {
  const [cout = 0, cg = 0] = paramShape;
  const unfold = contiguousUnfold(b, x, cg, spatial, outSpatial, cout, geo);
  const gl = unfold.layoutGrad(g);
  const size = paramShape.reduce((a, c) => a * c, 1);
  if (size > MATERIALIZE_MAX_WEIGHT) {
    const uu = b.matmul(b.transpose(unfold.u, [0, 2, 1]), unfold.u);
    const gg = b.matmul(b.transpose(gl, [0, 2, 1]), gl);
    return { squaredNorm: b.sumOfProductsPerRow(uu, gg) };
  }
  // Per-sample gradients transposed, [N, K' * C', Co]: U_n g_n^T runs faster in onnxruntime
  // than g_n U_n^T (fewer, longer rows for its GEMM).
  const ps = b.matmul(unfold.u, b.transpose(gl, [0, 2, 1]));
  const flat = b.reshape(ps, [0, -1]);
  return {
    squaredNorm: b.sumOfSquaresPerRow(ps),
    clippedSum: (c) => unfold.toWeightLayout(b.transpose(b.reshape(b.matmul(b.reshape(c, [1, -1]), flat), [-1, cout]), [1, 0]), []),
  };
}

function where(ctx: VjpContext): string {
  return `${ctx.node.opType} node "${ctx.node.name}"`;
}

/**
 * Book-keeping of per-sample gradient norms (Bu et al. 2022) for input `i` of a node, a
 * parameter (or a transposed/sliced view of one), from the forward activations and the
 * output gradient of the single backward pass.
 */
export function perSampleUse(ctx: VjpContext, i: number): PerSampleUse {
  const { b, node } = ctx;
  const op = node.opType;
  const g = gradOf(ctx);
  const out = node.output[0] ?? "";
  const outInfo = ctx.info(out);
  const param = node.input[i] ?? "";
  const paramShape = staticShape(ctx, param);
  const alignRight = (): number[] => {
    const r = outInfo.shape?.length ?? 0;
    return [...new Array<number>(r - paramShape.length).fill(1), ...paramShape];
  };
  switch (op) {
    case "MatMul": case "Gemm": {
      if (op === "Gemm" && i === 2) {
        return materialized(b, perSampleReduce(b, b.scale(g, attrFloat(node, "beta", 1)), outInfo, alignRight(), paramShape, where(ctx)), paramShape);
      }
      if (i !== 1 || paramShape.length !== 2 || (op === "Gemm" && attrInt(node, "transA", 0) !== 0)) break;
      const a = node.input[0] ?? "";
      const transB = op === "Gemm" && attrInt(node, "transB", 0) === 1;
      const [k = 0, n = 0] = transB ? [paramShape[1], paramShape[0]] : paramShape;
      const xb = toBatchMajor(b, a, ctx.info(a), 1, where(ctx));
      const gb = toBatchMajor(b, g, outInfo, 1, where(ctx));
      const sq = matmulSquaredNorm(b, xb, gb, k, n);
      const alpha = op === "Gemm" ? attrFloat(node, "alpha", 1) : 1;
      return { squaredNorm: b.scale(sq, alpha * alpha) };
    }
    case "Conv": {
      if (i === 2) return materialized(b, perSampleReduce(b, g, outInfo, paramShape.length === 1 ? (outInfo.shape ?? []).map((_, j) => (j === 1 ? paramShape[0] ?? 1 : 1)) : alignRight(), paramShape, where(ctx)), paramShape);
      const x = node.input[0] ?? "";
      const { batch, inner } = batchOf(x, ctx.info(x), where(ctx));
      if (batch.axis !== 0 || batch.outer !== 1 || inner !== 1) break;
      const spatial = staticShape(ctx, x, 2);
      const geo = convGeometry(node, paramShape);
      const outSpatial = staticShape(ctx, out, 2);
      const [cout = 0, cg = 0] = paramShape;
      const rows = (cg * geo.kernel.reduce((a, c) => a * c, 1));
      const cols = cout / geo.group;
      if (canGroupPerSample(spatial, paramShape, geo, ctx.batchSize)) {
        return materialized(b, groupedPerSampleConvGrad(b, x, g, spatial, outSpatial, paramShape, geo, ctx.batchSize), paramShape);
      }
      const grouped = blockedPerSampleConvGrads(b, x, g, spatial, outSpatial, paramShape, geo, ctx.batchSize);
      if (grouped !== undefined) {
        // [Cin, N, K]: per (channel, sample) sums of squares, then over channels (Mul and
        // ReduceSum: ReduceSumSquare is slower in onnxruntime).
        const { grads } = grouped;
        return {
          squaredNorm: b.reduceSum(b.reduceSum(b.mul(grads, grads), [2], false), [0], false),
          clippedSum: (c) => grouped.toWeight(b.matmul(b.reshape(c, [1, -1]), grads)),
        };
      }
      if (canUnfoldContiguously(spatial, geo)) return contiguousConvUse(b, x, g, spatial, outSpatial, paramShape, geo);
      const positions = outSpatial.reduce((a, c) => a * c, 1);
      // Ghost norm when the Gram matrices over positions are cheaper than the gradients.
      if (positions * (rows + cols) < rows * cols) {
        return { squaredNorm: ghostConvSquaredNorm(b, x, spatial, g, paramShape, geo) };
      }
      const ps = perSampleConvGrad(b, x, spatial, g, paramShape, geo);
      return materialized(b, b.reshape(ps, [-1, ...paramShape]), paramShape);
    }
    case "Gather": {
      if (i !== 0 || attrInt(node, "axis", 0) !== 0) break;
      const ids = node.input[1] ?? "";
      const rest = paramShape.slice(1);
      const idsb = toBatchMajor(b, ids, ctx.info(ids), 0, where(ctx));
      const gb0 = toBatchMajor(b, g, outInfo, rest.length, where(ctx));
      const gb = rest.length === 1 ? gb0.name : b.reshape(gb0.name, [0, 0, -1]);
      if (idsb.t === 1) return { squaredNorm: b.sumOfSquaresPerRow(gb) };
      // Ghost norm of an embedding (Li et al. 2021): sum over position pairs with equal ids of <g_s, g_t>.
      const same = b.cast(b.op1("Equal", [b.unsqueeze(idsb.name, [2]), b.unsqueeze(idsb.name, [1])]), 1);
      const gg = b.matmul(gb, b.transpose(gb, [0, 2, 1]));
      return { squaredNorm: b.sumOfProductsPerRow(same, gg) };
    }
    case "Add": case "Sub": case "Mul": case "Div": case "Pow": case "Where": case "PRelu": case "Max": case "Min": {
      if (op === "Where" && i === 0) break;
      const e = binaryUnreduced(ctx, i, g);
      return materialized(b, perSampleReduce(b, e, outInfo, alignRight(), paramShape, where(ctx)), paramShape);
    }
    case "LayerNormalization": case "InstanceNormalization": {
      const parts = op === "LayerNormalization" ? layerNormParts(ctx) : instanceNormParts(ctx);
      const e = i === 1 ? b.mul(g, parts.xhat) : g;
      return materialized(b, perSampleReduce(b, e, outInfo, parts.aligned, paramShape, where(ctx)), paramShape);
    }
    default: break;
  }
  throw new TrainerError("unsupported-op", `${where(ctx)}: per-sample gradients of input ${i} ("${param}") are not supported for DP; use it as a Linear/Conv/Embedding weight or an elementwise scale/bias`);
}
