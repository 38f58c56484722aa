import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { TrainerError } from "../trainer-error.js";
import type { GraphBuilder } from "./graph-builder.js";
import { type Dim, dimEq, dimOf, staticDim } from "./sym-dim.js";
import type { TensorInfo } from "./tensor-info.js";

/** What a gradient rule sees: the forward node, its output gradients, and which input gradients are wanted. */
export interface VjpContext {
  readonly b: GraphBuilder;
  readonly node: NodeProto;
  readonly info: (name: string) => TensorInfo;
  /** Gradient of each output (undefined where none flows back). */
  readonly gradOut: readonly (string | undefined)[];
  /** Whether the gradient of each input is wanted. */
  readonly want: readonly boolean[];
  /** The one batch size the graph is built for, when it is (BuildTrainingGraphOptions.physicalBatchSize). */
  readonly batchSize?: number;
}

/**
 * A vector-Jacobian product rule: the gradients of the wanted inputs (undefined elsewhere),
 * each shaped like its input, summed over any broadcasting.
 */
export type VjpRule = (ctx: VjpContext) => (string | undefined)[];

/** Shape of a tensor, or a TrainerError naming the node when unknown. */
export function shapeOf(ctx: VjpContext, name: string): readonly Dim[] {
  const s = ctx.info(name).shape;
  if (s === undefined || s.some((d) => d === undefined)) {
    throw new TrainerError("unsupported-op", `cannot infer the shape of "${name}" at ${ctx.node.opType} node "${ctx.node.name}"; every dimension except the batch axis must be static: export with dynamic_axes on axis 0 only`);
  }
  return s;
}

/** Static dims of a tensor (each dim must be static; `from` skips leading dims such as the batch). */
export function staticShape(ctx: VjpContext, name: string, from = 0): number[] {
  return shapeOf(ctx, name).slice(from).map((d) => {
    const v = staticDim(d);
    if (v === undefined) {
      throw new TrainerError("unsupported-op", `${ctx.node.opType} node "${ctx.node.name}": "${name}" has a batch-dependent dimension where a static one is needed`);
    }
    return v;
  });
}

/**
 * A Reshape target for `name`'s shape: a constant with -1 in place of the one symbolic dim,
 * or the runtime Shape when more than one dim is symbolic.
 */
export function reshapeTarget(ctx: VjpContext, name: string): string {
  const s = shapeOf(ctx, name);
  const sym = s.filter((d) => staticDim(d) === undefined).length;
  if (sym > 1) return ctx.b.shapeOf(name);
  return ctx.b.i64(s.map((d) => staticDim(d) ?? -1));
}

/** Reshapes a gradient back to `name`'s shape. */
export function reshapeLike(ctx: VjpContext, g: string, name: string): string {
  return ctx.b.reshape(g, reshapeTarget(ctx, name));
}

/**
 * Sums a gradient of broadcast shape `outShape` back to the shape of input `name`
 * (ONNX multidirectional broadcasting: leading axes and size-1 axes).
 */
export function reduceToShape(ctx: VjpContext, g: string, outShape: readonly Dim[], name: string): string {
  const inShape = ctx.info(name).shape;
  if (inShape === undefined) return reshapeUnknown(ctx, g, name);
  const lead = outShape.length - inShape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < lead) { axes.push(i); continue; }
    const di = inShape[i - lead];
    const dout = outShape[i];
    if (dimEq(di, dimOf(1)) && !dimEq(dout, dimOf(1))) axes.push(i);
    else if (di === undefined || dout === undefined) {
      if (!dimEq(di, dout)) return reshapeUnknown(ctx, g, name);
    }
  }
  if (axes.length === 0) return g;
  const r = ctx.b.reduceSum(g, axes, true);
  return lead > 0 ? ctx.b.squeeze(r, Array.from({ length: lead }, (_, i) => i)) : r;
}

function reshapeUnknown(ctx: VjpContext, _g: string, name: string): never {
  throw new TrainerError("unsupported-op", `cannot infer the broadcast shape of "${name}" at ${ctx.node.opType} node "${ctx.node.name}"; every dimension except the batch axis must be static: export with dynamic_axes on axis 0 only`);
}

/** The (required) gradient of output i. */
export function gradOf(ctx: VjpContext, i = 0): string {
  const g = ctx.gradOut[i];
  if (g === undefined) throw new Error(`internal: no gradient for output ${i} of ${ctx.node.name}`);
  return g;
}

/** The ONNX float32 data type number. */
export const FLOAT = 1;
