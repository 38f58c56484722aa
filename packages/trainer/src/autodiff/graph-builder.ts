import { create } from "@bufbuild/protobuf";
import { type AttributeProto, type NodeProto, NodeProtoSchema, type TensorProto } from "../onnx/gen/onnx_pb.js";
import { float32Tensor, int64Tensor } from "../onnx/tensor-data.js";
import { attr, attrKey } from "./attributes.js";

/** onnxruntime's domain of the NCHWc (channel-blocked) CPU kernels. */
export const NCHWC_DOMAIN = "com.microsoft.nchwc";

/**
 * Emits the nodes and constants of the training graph. Identical nodes (same op, inputs and
 * attributes) are emitted once, so gradient rules can ask for the same recomputation (a
 * normalized activation, an im2col unfold) from the backward and the clipping passes.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly memo = new Map<string, string[]>();
  private readonly constants = new Map<string, string>();
  private counter = 0;
  /** Forward node being differentiated; prefixes emitted node names (readable profiles). */
  scope = "";
  /**
   * Zero-paddings along one axis emitted by gradient rules (Slice, Gather of one index):
   * output -> source and the range [start, end) it fills. Gradients that tile an axis exactly
   * are then joined with one Concat instead of padded and summed.
   */
  private readonly placements = new Map<string, { source: string; axis: number; start: number; end: number; dim: number; rank: number }>();
  /**
   * onnxruntime's NCHWc channel block when the graph may use its NCHWc kernels
   * (`com.microsoft.nchwc`; see nchwc-lowering.ts), else undefined.
   */
  nchwcBlock: number | undefined = undefined;
  /**
   * NCHW shapes without the batch ([C, H, W]) of tensors that gradient rules produce with a
   * `ReorderOutput` from the blocked layout; the NCHWc lowering keeps elementwise ops on such
   * tensors in the blocked layout.
   */
  readonly blockedShapes = new Map<string, readonly number[]>();
  /** The forward graph's node producing each tensor, and how many forward nodes read it (set by buildTrainingGraph). */
  readonly forwardProducer = new Map<string, NodeProto>();
  readonly forwardReaders = new Map<string, number>();
  /**
   * Outputs of Tanh / Sigmoid nodes whose derivative a MaxPool gradient rule already applied
   * on the pool's (smaller) output grid (max-pool-grad.ts); their own rule passes g through.
   */
  readonly appliedDerivatives = new Set<string>();

  constructor(
    /** Default-domain opset of the graph the nodes go into (selects attribute or input forms). */
    readonly opset: number,
    readonly taken: Set<string>,
  ) {}

  /** A fresh tensor name that collides with nothing in the model. */
  fresh(hint: string): string {
    let name: string;
    do name = `__ad/${hint}_${this.counter++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  /** Emits a node (or reuses an identical one) and returns its outputs. */
  op(opType: string, inputs: readonly string[], attrs: readonly AttributeProto[] = [], outputs = 1): string[] {
    const key = `${opType}|${inputs.join(",")}|${attrKey(attrs)}|${outputs}`;
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    const outs = Array.from({ length: outputs }, () => this.fresh(opType));
    this.nodes.push(create(NodeProtoSchema, { opType, input: [...inputs], output: outs, name: this.fresh(`${this.scope}/${opType}_node`), attribute: [...attrs] }));
    this.memo.set(key, outs);
    return outs;
  }

  /** Emits a single-output node of onnxruntime's NCHWc domain (memoized like {@link op}). */
  nchwc(opType: string, inputs: readonly string[], attrs: readonly AttributeProto[] = []): string {
    const key = `nchwc:${opType}|${inputs.join(",")}|${attrKey(attrs)}`;
    const hit = this.memo.get(key)?.[0];
    if (hit !== undefined) return hit;
    const out = this.fresh(opType);
    this.nodes.push(create(NodeProtoSchema, { opType, domain: NCHWC_DOMAIN, input: [...inputs], output: [out], name: this.fresh(`${this.scope}/${opType}_node`), attribute: [...attrs] }));
    this.memo.set(key, [out]);
    return out;
  }

  /** Emits a single-output node. */
  op1(opType: string, inputs: readonly string[], attrs: readonly AttributeProto[] = []): string {
    return this.op(opType, inputs, attrs, 1)[0] ?? "";
  }

  /** An int64 constant (1-D unless `dims` says otherwise). */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join("x")}:${values.join(",")}`;
    const hit = this.constants.get(key);
    if (hit !== undefined) return hit;
    const name = this.fresh("const");
    this.initializers.push(int64Tensor(name, dims, values));
    this.constants.set(key, name);
    return name;
  }

  /** The values of an int64 constant made by {@link i64}, or undefined. */
  constantInts(name: string): number[] | undefined {
    for (const [key, n] of this.constants) {
      if (n === name && key.startsWith("i64:")) {
        const values = key.slice(key.indexOf(":", 4) + 1);
        return values === "" ? [] : values.split(",").map(Number);
      }
    }
    return undefined;
  }

  /** A float32 constant (a scalar unless `dims` says otherwise). */
  f32(values: number | Float32Array, dims: readonly number[] = []): string {
    const data = typeof values === "number" ? Float32Array.of(values) : values;
    const key = `f32:${dims.join("x")}:${data.length <= 16 ? Array.from(data).join(",") : this.counter}`;
    const hit = this.constants.get(key);
    if (hit !== undefined) return hit;
    const name = this.fresh("const");
    this.initializers.push(float32Tensor(name, dims, data));
    this.constants.set(key, name);
    return name;
  }

  /**
   * Zero-pads `x` along `axis` to `dim`, placing it at [start, end). The Pad is emitted
   * lazily (by {@link accumulate}), so placements that tile an axis become one Concat.
   */
  place(x: string, rank: number, axis: number, start: number, end: number, dim: number): string {
    if (start === 0 && end === dim) return x;
    const out = this.fresh("placed");
    this.placements.set(out, { source: x, axis, start, end, dim, rank });
    return out;
  }

  private realize(x: string): string {
    const p = this.placements.get(x);
    if (p === undefined) return x;
    this.placements.delete(x);
    const pads = new Array<number>(2 * p.rank).fill(0);
    pads[p.axis] = p.start;
    pads[p.axis + p.rank] = p.dim - p.end;
    this.nodes.push(create(NodeProtoSchema, { opType: "Pad", input: [p.source, this.i64(pads)], output: [x], name: this.fresh(`${this.scope}/Pad_node`) }));
    return x;
  }

  /**
   * Sum of gradient contributions; when they are placements that tile one axis exactly
   * (the q, k and v slices of a packed projection), one Concat of their sources.
   */
  accumulate(xs: readonly string[]): string {
    if (xs.length > 1) {
      const parts = xs.map((x) => this.placements.get(x));
      const first = parts[0];
      if (first !== undefined && parts.every((p) => p !== undefined && p.axis === first.axis && p.dim === first.dim)) {
        const sorted = [...parts].sort((a, c) => (a?.start ?? 0) - (c?.start ?? 0));
        const tiles = sorted.every((p, i) => (p?.start ?? -1) === (i === 0 ? 0 : sorted[i - 1]?.end)) && sorted[sorted.length - 1]?.end === first.dim;
        if (tiles) return this.op1("Concat", sorted.map((p) => p?.source ?? ""), [attr.int("axis", first.axis)]);
      }
    }
    return this.sum(xs.map((x) => this.realize(x)));
  }

  add(a: string, b: string): string { return this.op1("Add", [a, b]); }
  sub(a: string, b: string): string { return this.op1("Sub", [a, b]); }
  mul(a: string, b: string): string { return this.op1("Mul", [a, b]); }
  div(a: string, b: string): string { return this.op1("Div", [a, b]); }
  neg(a: string): string { return this.op1("Neg", [a]); }
  scale(a: string, k: number): string { return k === 1 ? a : this.mul(a, this.f32(k)); }
  matmul(a: string, b: string): string { return this.op1("MatMul", [a, b]); }
  transpose(x: string, perm: readonly number[]): string {
    if (perm.every((p, i) => p === i)) return x;
    return this.op1("Transpose", [x], [attr.ints("perm", perm)]);
  }
  reshape(x: string, shape: readonly number[] | string): string {
    return this.op1("Reshape", [x, typeof shape === "string" ? shape : this.i64(shape)]);
  }
  shapeOf(x: string): string { return this.op1("Shape", [x]); }
  unsqueeze(x: string, axes: readonly number[]): string {
    if (axes.length === 0) return x;
    return this.opset >= 13 ? this.op1("Unsqueeze", [x, this.i64(axes)]) : this.op1("Unsqueeze", [x], [attr.ints("axes", axes)]);
  }
  squeeze(x: string, axes: readonly number[]): string {
    if (axes.length === 0) return x;
    return this.opset >= 13 ? this.op1("Squeeze", [x, this.i64(axes)]) : this.op1("Squeeze", [x], [attr.ints("axes", axes)]);
  }
  /** ReduceSum over `axes` (no-op for no axes). */
  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    return this.op1("ReduceSum", [x, this.i64(axes)], [attr.int("keepdims", keepdims ? 1 : 0)]);
  }
  /**
   * Sum of squares over every axis but the first, as [N]: Mul and a ReduceSum over one
   * flattened axis (onnxruntime's ReduceSumSquare and multi-axis reductions run ~3x slower).
   */
  sumOfSquaresPerRow(x: string): string {
    return this.sumOfProductsPerRow(x, x);
  }

  /** Sum of a * b over every axis but the first, as [N] (a Frobenius inner product per row). */
  sumOfProductsPerRow(a: string, b: string): string {
    return this.reduceSum(this.reshape(this.mul(a, b), [0, -1]), [1], false);
  }

  /** ReduceMean over `axes` (attribute form before opset 18). */
  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string {
    if (this.opset >= 18) return this.op1("ReduceMean", [x, this.i64(axes)], [attr.int("keepdims", keepdims ? 1 : 0)]);
    return this.op1("ReduceMean", [x], [attr.ints("axes", axes), attr.int("keepdims", keepdims ? 1 : 0)]);
  }
  cast(x: string, to: number): string { return this.op1("Cast", [x], [attr.int("to", to)]); }
  /** Sum of several tensors (one Add for two, Sum for more). */
  sum(xs: readonly string[]): string {
    if (xs.length === 1) return xs[0] ?? "";
    if (xs.length === 2) return this.add(xs[0] ?? "", xs[1] ?? "");
    return this.op1("Sum", xs);
  }
  /** Zeros of a static shape (materialized at run time, not stored in the model). */
  zeros(shape: readonly number[]): string {
    return this.op1("ConstantOfShape", [this.i64(shape)], [attr.tensor("value", float32Tensor("", [1], Float32Array.of(0)))]);
  }
  /** Zeros shaped like a runtime shape tensor. */
  zerosOfShape(shape: string): string {
    return this.op1("ConstantOfShape", [shape], [attr.tensor("value", float32Tensor("", [1], Float32Array.of(0)))]);
  }
}
