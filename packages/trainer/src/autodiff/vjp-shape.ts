import { TrainerError } from "../trainer-error.js";
import { attr, attrInt, attrInts, attrString } from "./attributes.js";
import { constNumbers, normAxis, reduceAxes, sliceParams, splitSizes } from "./shape-helpers.js";
import { staticDim } from "./sym-dim.js";
import { type VjpContext, type VjpRule, gradOf, reduceToShape, reshapeLike, shapeOf, staticShape } from "./vjp-context.js";

const reshapeBack: VjpRule = (ctx) => {
  const out = ctx.node.input.map(() => undefined as string | undefined);
  if (ctx.want[0]) out[0] = reshapeLike(ctx, gradOf(ctx), ctx.node.input[0] ?? "");
  return out;
};

const none = (ctx: VjpContext): undefined[] => ctx.node.input.map(() => undefined);

/** Gradient of Gather with respect to its data input (indices are integers). */
function gatherData(ctx: VjpContext, g: string): string {
  const { b, node } = ctx;
  const data = node.input[0] ?? "";
  const idx = node.input[1] ?? "";
  const ds = shapeOf(ctx, data);
  const axis = normAxis(attrInt(node, "axis", 0), ds.length);
  const idxInfo = ctx.info(idx);
  const consts = constNumbers(idxInfo);
  const dimA = staticDim(ds[axis]);
  if (dimA === undefined) throw new TrainerError("unsupported-op", `Gather node "${node.name}": gathering along the batch axis mixes samples`);
  if (consts !== undefined && consts.length === 1 && (idxInfo.shape?.length ?? 0) === 0) {
    // A scalar index (PyTorch's proj[0]): pad the gradient back into place.
    const k = (consts[0] ?? 0) < 0 ? (consts[0] ?? 0) + dimA : (consts[0] ?? 0);
    return b.place(b.unsqueeze(g, [axis]), ds.length, axis, k, k + 1, dimA);
  }
  const ir = idxInfo.shape?.length;
  if (ir === undefined) throw new TrainerError("unsupported-op", `Gather node "${node.name}": unknown index rank`);
  // ScatterND with reduction "add" (opset 16) sums repeated indices, as the gradient must.
  let upd = g;
  let target = data;
  let perm: number[] | undefined;
  if (axis !== 0) {
    // Move the gathered axis first: g is data[:axis] + idx + data[axis+1:].
    const gr = ds.length - 1 + ir;
    const idxAxes = Array.from({ length: ir }, (_, i) => axis + i);
    const rest = Array.from({ length: gr }, (_, i) => i).filter((i) => !idxAxes.includes(i));
    upd = b.transpose(g, [...idxAxes, ...rest]);
    perm = [axis, ...Array.from({ length: ds.length }, (_, i) => i).filter((i) => i !== axis)];
    target = b.transpose(data, perm);
  }
  const zeros = b.zerosOfShape(b.shapeOf(target));
  const scattered = b.op1("ScatterND", [zeros, b.unsqueeze(idx, [ir]), upd], [attr.string("reduction", "add")]);
  if (perm === undefined) return scattered;
  const inv = perm.map((_, i) => perm.indexOf(i));
  return b.transpose(scattered, inv);
}

/** Rules for shape and indexing ops. */
export const shapeRules: Readonly<Record<string, VjpRule>> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: (ctx) => {
    if (!ctx.want[0]) return none(ctx);
    const rank = shapeOf(ctx, ctx.node.input[0] ?? "").length;
    const perm = attrInts(ctx.node, "perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [ctx.b.transpose(gradOf(ctx), inv)];
  },
  Expand: (ctx) => {
    const out = none(ctx) as (string | undefined)[];
    if (ctx.want[0]) out[0] = reduceToShape(ctx, gradOf(ctx), shapeOf(ctx, ctx.node.output[0] ?? ""), ctx.node.input[0] ?? "");
    return out;
  },
  Concat: (ctx) => {
    const { b, node } = ctx;
    const g = gradOf(ctx);
    const rank = shapeOf(ctx, node.output[0] ?? "").length;
    const axis = normAxis(attrInt(node, "axis", 0), rank);
    const sizes = node.input.map((n) => {
      const d = staticDim(shapeOf(ctx, n)[axis]);
      if (d === undefined) throw new TrainerError("unsupported-op", `Concat node "${node.name}": concatenation along the batch axis`);
      return d;
    });
    const parts = b.op("Split", [g, b.i64(sizes)], [attr.int("axis", axis)], sizes.length);
    return node.input.map((_, i) => (ctx.want[i] ? parts[i] : undefined));
  },
  Split: (ctx) => {
    const { b, node } = ctx;
    const out = none(ctx) as (string | undefined)[];
    if (!ctx.want[0]) return out;
    const rank = shapeOf(ctx, node.input[0] ?? "").length;
    const axis = normAxis(attrInt(node, "axis", 0), rank);
    const sizes = splitSizes(node, b.opset, node.input.map((n) => ctx.info(n)), shapeOf(ctx, node.input[0] ?? "")[axis]);
    if (sizes === undefined) throw new TrainerError("unsupported-op", `Split node "${node.name}": split sizes unknown at build time`);
    const parts = node.output.map((o, i) => ctx.gradOut[i] ?? b.zerosOfShape(b.shapeOf(o)));
    out[0] = b.op1("Concat", parts, [attr.int("axis", axis)]);
    return out;
  },
  Slice: (ctx) => {
    const { b, node } = ctx;
    const out = none(ctx) as (string | undefined)[];
    if (!ctx.want[0]) return out;
    const x = node.input[0] ?? "";
    const params = sliceParams(node, node.input.map((n) => ctx.info(n)));
    const xs = shapeOf(ctx, x);
    if (params === undefined) throw new TrainerError("unsupported-op", `Slice node "${node.name}": starts/ends must be known at build time`);
    let g = gradOf(ctx);
    const rank = xs.length;
    const pads = new Array<number>(2 * rank).fill(0);
    for (const p of params) {
      if (p.end === Infinity) continue;
      const dim = staticDim(xs[p.axis]);
      if (dim === undefined) throw new TrainerError("unsupported-op", `Slice node "${node.name}": slicing the batch axis mixes samples`);
      const count = Math.max(0, Math.ceil((p.end - p.start) / p.step));
      let first = p.start;
      if (p.step < 0) {
        // Reverse the gradient so its elements run in increasing input order.
        g = b.op1("Slice", [g, b.i64([-1]), b.i64([-(2 ** 62)]), b.i64([p.axis]), b.i64([-1])]);
        first = p.start + (count - 1) * p.step;
      }
      const step = Math.abs(p.step);
      let span = count;
      if (step > 1 && count > 0) {
        // Interleave step-1 zeros after each element: [.., m, ..] -> [.., m * step, ..].
        const shape = shapeOf(ctx, node.output[0] ?? "").map((d) => staticDim(d) ?? -1);
        const widened = b.op1("Pad", [b.unsqueeze(g, [p.axis + 1]), b.i64(Array.from({ length: 2 * (rank + 1) }, (_, i) => (i === rank + 1 + p.axis + 1 ? step - 1 : 0)))]);
        g = b.reshape(widened, shape.map((d, i) => (i === p.axis ? count * step : d)));
        span = count * step;
      }
      pads[p.axis] = first;
      const after = dim - first - span;
      if (after >= 0) pads[p.axis + rank] = after;
      else g = b.op1("Slice", [g, b.i64([0]), b.i64([span + after]), b.i64([p.axis])]);
    }
    const padded = pads.map((v, i) => (v !== 0 ? i % rank : -1)).filter((a) => a >= 0);
    const single = padded.length > 0 && padded.every((a) => a === padded[0]) ? padded[0] : undefined;
    if (pads.every((v) => v === 0)) out[0] = g;
    else if (single !== undefined) {
      const dim = staticDim(xs[single]) ?? 0;
      out[0] = b.place(g, rank, single, pads[single] ?? 0, dim - (pads[single + rank] ?? 0), dim);
    } else out[0] = b.op1("Pad", [g, b.i64(pads)]);
    return out;
  },
  Pad: (ctx) => {
    const { b, node } = ctx;
    const out = none(ctx) as (string | undefined)[];
    if (!ctx.want[0]) return out;
    if (attrString(node, "mode", "constant") !== "constant") throw new TrainerError("unsupported-op", `Pad node "${node.name}": only constant padding is differentiable here`);
    const x = node.input[0] ?? "";
    const rank = shapeOf(ctx, x).length;
    const pads = constNumbers(ctx.info(node.input[1] ?? ""));
    const axes = node.input.length > 3 && node.input[3] !== "" ? constNumbers(ctx.info(node.input[3] ?? ""))?.map((a) => normAxis(a, rank)) : Array.from({ length: rank }, (_, i) => i);
    if (pads === undefined || axes === undefined) throw new TrainerError("unsupported-op", `Pad node "${node.name}": pads must be constant`);
    // The gradient of padding is the matching crop (and of a negative pad, padding).
    const starts: number[] = [], ends: number[] = [], sliceAxes: number[] = [];
    const back = new Array<number>(2 * rank).fill(0);
    const ys = shapeOf(ctx, node.output[0] ?? "");
    axes.forEach((a, j) => {
      const before = pads[j] ?? 0, after = pads[j + axes.length] ?? 0;
      const dim = staticDim(ys[a]);
      if (before > 0 || after > 0) {
        if (dim === undefined) throw new TrainerError("unsupported-op", `Pad node "${node.name}": padding the batch axis`);
        sliceAxes.push(a); starts.push(Math.max(0, before)); ends.push(dim - Math.max(0, after));
      }
      if (before < 0) back[a] = -before;
      if (after < 0) back[a + rank] = -after;
    });
    let g = gradOf(ctx);
    if (sliceAxes.length > 0) g = b.op1("Slice", [g, b.i64(starts), b.i64(ends), b.i64(sliceAxes)]);
    if (back.some((v) => v !== 0)) g = b.op1("Pad", [g, b.i64(back)]);
    out[0] = g;
    return out;
  },
  Tile: (ctx) => {
    const { b, node } = ctx;
    const out = none(ctx) as (string | undefined)[];
    if (!ctx.want[0]) return out;
    const x = node.input[0] ?? "";
    const xs = shapeOf(ctx, x);
    const reps = constNumbers(ctx.info(node.input[1] ?? ""));
    if (reps === undefined) throw new TrainerError("unsupported-op", `Tile node "${node.name}": repeats must be constant`);
    // y viewed as [r0, d0, r1, d1, ...]: sum over the repeat axes.
    const view: number[] = [];
    xs.forEach((d, i) => {
      const v = staticDim(d);
      if (v === undefined && (reps[i] ?? 1) !== 1) throw new TrainerError("unsupported-op", `Tile node "${node.name}": repeating the batch axis`);
      view.push(reps[i] ?? 1, v ?? -1);
    });
    out[0] = b.reduceSum(b.reshape(gradOf(ctx), view), xs.map((_, i) => 2 * i), false);
    return out;
  },
  Gather: (ctx) => {
    const out = none(ctx) as (string | undefined)[];
    if (ctx.want[0]) out[0] = gatherData(ctx, gradOf(ctx));
    return out;
  },
  ReduceSum: (ctx) => reduceBack(ctx, "sum"),
  ReduceMean: (ctx) => reduceBack(ctx, "mean"),
  ReduceSumSquare: (ctx) => reduceBack(ctx, "sumSquare"),
  ReduceL2: (ctx) => reduceBack(ctx, "l2"),
  ReduceLogSumExp: (ctx) => reduceBack(ctx, "logSumExp"),
  ReduceMax: (ctx) => reduceBack(ctx, "extreme"),
  ReduceMin: (ctx) => reduceBack(ctx, "extreme"),
  GlobalMaxPool: (ctx) => reduceBack(ctx, "extreme"),
  GlobalAveragePool: (ctx) => {
    const { b, node } = ctx;
    if (!ctx.want[0]) return none(ctx);
    const x = node.input[0] ?? "";
    const xs = staticShape(ctx, x, 2);
    const n = xs.reduce((a, c) => a * c, 1);
    return [b.op1("Expand", [b.scale(gradOf(ctx), 1 / n), b.shapeOf(x)])];
  },
};

type ReduceKind = "sum" | "mean" | "sumSquare" | "l2" | "logSumExp" | "extreme";

/**
 * Reductions: the output gradient is broadcast back over the reduced axes and multiplied by
 * d y / d x: 1 (sum), 1/n (mean), 2x (sum of squares), x/y (L2), e^(x-y) (log-sum-exp), or
 * the indicator of the extreme elements shared evenly among ties (max, min; as PyTorch's
 * amax/amin).
 */
function reduceBack(ctx: VjpContext, kind: ReduceKind): (string | undefined)[] {
  const { b, node } = ctx;
  const out = none(ctx) as (string | undefined)[];
  if (!ctx.want[0]) return out;
  const x = node.input[0] ?? "";
  const y = node.output[0] ?? "";
  const xs = shapeOf(ctx, x);
  const global = node.opType === "GlobalMaxPool";
  const axes = global ? xs.map((_, i) => i).slice(2) : reduceAxes(node, b.opset, node.input.map((n) => ctx.info(n)), xs.length);
  if (axes === undefined) throw new TrainerError("unsupported-op", `${node.opType} node "${node.name}": axes must be constant`);
  if (axes.length === 0) { out[0] = gradOf(ctx); return out; }
  const sorted = [...axes].sort((p, q) => p - q);
  const keep = global || attrInt(node, "keepdims", 1) === 1;
  const g = keep ? gradOf(ctx) : b.unsqueeze(gradOf(ctx), sorted);
  const yk = keep ? y : b.unsqueeze(y, sorted);
  switch (kind) {
    case "sum": case "mean": {
      const dims = sorted.map((a) => staticDim(xs[a]));
      let scaled = g;
      if (kind === "mean") {
        // A mean over the batch (non-private mode only) divides by a run-time count.
        scaled = dims.every((d) => d !== undefined)
          ? b.scale(g, 1 / dims.reduce<number>((p, d) => p * (d ?? 1), 1))
          : b.div(g, b.div(b.cast(b.op1("Size", [x]), 1), b.cast(b.op1("Size", [y]), 1)));
      }
      out[0] = b.op1("Expand", [scaled, b.shapeOf(x)]);
      break;
    }
    case "sumSquare": out[0] = b.mul(b.scale(x, 2), g); break;
    case "l2": out[0] = b.mul(b.div(x, yk), g); break;
    case "logSumExp": out[0] = b.mul(b.op1("Exp", [b.sub(x, yk)]), g); break;
    case "extreme": {
      const hit = b.cast(b.op1("Equal", [x, yk]), 1);
      out[0] = b.mul(hit, b.div(g, b.reduceSum(hit, sorted, true)));
      break;
    }
  }
  return out;
}
