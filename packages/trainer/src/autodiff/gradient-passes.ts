import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { scaleByBatch } from "./batch-layout.js";
import { type RowLayout, findGelus, geluGradient } from "./gelu-fusion.js";
import type { GraphBuilder } from "./graph-builder.js";
import { isDifferentiableInput } from "./model-analysis.js";
import { dimAtBatch } from "./sym-dim.js";
import { type PerSampleUse, perSampleUse } from "./per-sample-norms.js";
import type { TensorInfo } from "./tensor-info.js";
import type { VjpContext } from "./vjp-context.js";
import { vjpRules } from "./vjp-rules.js";

/** Opacus' clip factor: min(1, C / (norm + 1e-6)). */
const CLIP_EPSILON = 1e-6;

/** Gradient contributions per tensor, summed (or concatenated) when first read. */
export class GradientMap {
  private readonly parts = new Map<string, string[]>();
  constructor(private readonly b: GraphBuilder) {}

  add(name: string, g: string | undefined): void {
    if (g === undefined) return;
    const list = this.parts.get(name);
    if (list === undefined) this.parts.set(name, [g]);
    else list.push(g);
  }

  total(name: string): string | undefined {
    const list = this.parts.get(name);
    if (list === undefined) return undefined;
    const s = this.b.accumulate(list);
    this.parts.set(name, [s]);
    return s;
  }
}

/** A node input that is a parameter (or a view of one) and the node's output gradients. */
export interface ParameterUse {
  readonly node: NodeProto;
  readonly input: number;
  readonly gradOut: readonly (string | undefined)[];
}

/** What the passes need to know about the forward graph. */
export interface ForwardGraph {
  readonly nodes: readonly NodeProto[];
  readonly info: (name: string) => TensorInfo;
  /** Float tensor that depends on data and parameters: its gradient flows back. */
  readonly isActivation: (name: string) => boolean;
  /** Float tensor that depends on parameters only (a transposed or sliced weight). */
  readonly isParameterView: (name: string) => boolean;
  /** The one batch size the graph is built for, if any. */
  readonly batchSize?: number;
}

function context(b: GraphBuilder, fwd: ForwardGraph, node: NodeProto, gradOut: readonly (string | undefined)[], want: readonly boolean[]): VjpContext {
  b.scope = node.name;
  return { b, node, info: fwd.info, gradOut, want, ...(fwd.batchSize === undefined ? {} : { batchSize: fwd.batchSize }) };
}

/** A tensor's static shape as rows x width, when the graph is built for one batch size and it is known. */
function rowLayout(fwd: ForwardGraph, name: string): RowLayout | undefined {
  const batch = fwd.batchSize;
  if (batch === undefined) return undefined;
  const shape = (fwd.info(name).shape ?? []).map((d) => dimAtBatch(d, batch));
  if (shape.length < 2 || shape.some((d) => d === undefined)) return undefined;
  const known = shape as number[];
  return { shape: known, rows: known.slice(0, -1).reduce((a, c) => a * c, 1), width: known[known.length - 1] ?? 0 };
}

/**
 * The one backward pass: activation gradients in reverse graph order, from `grads` (seeded
 * with the loss gradient). Returns every use of a parameter view with its output gradients,
 * for the norms and the parameter gradients.
 */
export function backwardPass(b: GraphBuilder, fwd: ForwardGraph, grads: GradientMap): ParameterUse[] {
  const uses: ParameterUse[] = [];
  const gelus = findGelus(fwd);
  const fused = new Set([...gelus.values()].flatMap((m) => [...m.inner]));
  for (let k = fwd.nodes.length - 1; k >= 0; k--) {
    const node = fwd.nodes[k];
    if (node === undefined || fused.has(node)) continue;
    const gradOut = node.output.map((o) => (fwd.isActivation(o) ? grads.total(o) : undefined));
    const gelu = gelus.get(node);
    if (gelu !== undefined) {
      // Its inner nodes take constants only besides x, so no parameter use is skipped.
      const g = gradOut[0];
      if (g !== undefined) {
        b.scope = node.name;
        grads.add(gelu.x, geluGradient(b, gelu, g, rowLayout(fwd, gelu.x)));
      }
      continue;
    }
    const rule = vjpRules.get(node.opType);
    if (gradOut.every((g) => g === undefined) || rule === undefined) continue;
    const want = node.input.map((i, j) => i !== "" && fwd.isActivation(i) && isDifferentiableInput(node.opType, j));
    if (want.some((w) => w)) {
      const res = rule(context(b, fwd, node, gradOut, want));
      node.input.forEach((i, j) => { if (want[j]) grads.add(i, res[j]); });
    }
    node.input.forEach((i, j) => {
      if (i !== "" && fwd.isParameterView(i) && isDifferentiableInput(node.opType, j)) uses.push({ node, input: j, gradOut });
    });
  }
  return uses;
}

/**
 * Per-sample gradient norms over all parameters (book-keeping: each use contributes its
 * squared norm, from the stored activations and output gradients) and the clip factors
 * min(1, C / (norm + 1e-6)). Returns the per-use results for the clipped sums.
 */
export function perSampleNorms(b: GraphBuilder, fwd: ForwardGraph, uses: readonly ParameterUse[], mask: string, maxGradNorm: string): { norms: string; clip: string; perUse: Map<ParameterUse, PerSampleUse> } {
  const perUse = new Map<ParameterUse, PerSampleUse>();
  const squares: string[] = [];
  for (const u of uses) {
    const r = perSampleUse(context(b, fwd, u.node, u.gradOut, u.node.input.map((_, j) => j === u.input)), u.input);
    perUse.set(u, r);
    squares.push(r.squaredNorm);
  }
  b.scope = "clip";
  const sq = squares.length === 0 ? b.mul(mask, b.f32(0)) : b.sum(squares);
  const norm = b.op1("Sqrt", [sq]);
  const clip = b.op1("Min", [b.div(maxGradNorm, b.add(norm, b.f32(CLIP_EPSILON))), b.f32(1)]);
  return { norms: b.mul(norm, mask), clip, perUse };
}

/**
 * Gradient sums of the parameters: at each use, the use's rule applied to the output
 * gradient scaled per sample by the clip factor (sum_b c_b x_b^T g_b = x^T (c * g)), or the
 * materialized per-sample gradients weighted by c; then back through the parameter views
 * (Transpose, Slice, ...) to the parameters. Without `clip`, plain sums.
 */
export function parameterGradients(b: GraphBuilder, fwd: ForwardGraph, uses: readonly ParameterUse[], clip?: { factor: string; perUse: ReadonlyMap<ParameterUse, PerSampleUse> }): GradientMap {
  const grads = new GradientMap(b);
  for (const u of uses) {
    const materialized = clip?.perUse.get(u)?.clippedSum;
    let g: string | undefined;
    if (clip !== undefined && materialized !== undefined) {
      b.scope = u.node.name;
      g = materialized(clip.factor);
    } else {
      const where = `${u.node.opType} node "${u.node.name}"`;
      const gradOut = clip === undefined ? u.gradOut : u.gradOut.map((go, j) => (go === undefined ? undefined : scaleByBatch(b, go, fwd.info(u.node.output[j] ?? ""), clip.factor, where)));
      g = vjpRules.get(u.node.opType)?.(context(b, fwd, u.node, gradOut, u.node.input.map((_, j) => j === u.input)))[u.input];
    }
    grads.add(u.node.input[u.input] ?? "", g);
  }
  for (let k = fwd.nodes.length - 1; k >= 0; k--) {
    const node = fwd.nodes[k];
    if (node === undefined || !node.output.some((o) => fwd.isParameterView(o))) continue;
    const gradOut = node.output.map((o) => grads.total(o));
    if (gradOut.every((g) => g === undefined)) continue;
    const want = node.input.map((i, j) => i !== "" && fwd.isParameterView(i) && isDifferentiableInput(node.opType, j));
    const res = vjpRules.get(node.opType)?.(context(b, fwd, node, gradOut, want)) ?? [];
    node.input.forEach((i, j) => { if (want[j]) grads.add(i, res[j]); });
  }
  return grads;
}
