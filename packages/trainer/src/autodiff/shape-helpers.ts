import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { attrInt, attrInts, attrString } from "./attributes.js";
import { type Dim, dimDiv, dimEq, dimOf, dimProduct, staticDim } from "./sym-dim.js";
import type { TensorInfo } from "./tensor-info.js";

/** Broadcasts shapes numpy-style (ONNX multidirectional broadcasting). */
export function broadcastShapes(shapes: readonly (readonly Dim[])[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = dimOf(1);
    let unknown = false;
    for (const s of shapes) {
      const e = s[i - (rank - s.length)];
      if (i - (rank - s.length) < 0) continue;
      if (e === undefined) { unknown = true; continue; }
      if (dimEq(e, dimOf(1))) continue;
      d = e;
    }
    out.push(unknown && dimEq(d, dimOf(1)) ? undefined : d);
  }
  return out;
}

/** Normalizes a possibly negative axis. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function valueOfConst(value: readonly Dim[] | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const out: number[] = [];
  for (const d of value) {
    const v = staticDim(d);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/** Static numbers of a tensor's known value (constants), or undefined. */
export function constNumbers(info: TensorInfo | undefined): number[] | undefined {
  return valueOfConst(info?.value);
}

/** Reduction axes (normalized), from the attribute or, from opset 18 (13 for ReduceSum), the input. */
export function reduceAxes(node: NodeProto, opset: number, ins: readonly (TensorInfo | undefined)[], rank: number): number[] | undefined {
  const fromInput = node.opType === "ReduceSum" ? opset >= 13 : opset >= 18;
  let axes: number[] | undefined;
  if (fromInput) {
    if (node.input.length > 1 && node.input[1] !== "") {
      axes = constNumbers(ins[1]);
      if (axes === undefined) return undefined;
    }
  } else {
    axes = attrInts(node, "axes");
  }
  if (axes === undefined || axes.length === 0) {
    if (fromInput && attrInt(node, "noop_with_empty_axes", 0) === 1) return [];
    return Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => normAxis(a, rank));
}

/** Sizes of Split's outputs along its axis (static), or undefined. */
export function splitSizes(node: NodeProto, opset: number, ins: readonly (TensorInfo | undefined)[], dim: Dim): number[] | undefined {
  const explicit = opset >= 13 ? (node.input.length > 1 && node.input[1] !== "" ? constNumbers(ins[1]) : undefined) : attrInts(node, "split");
  if (explicit !== undefined) return explicit;
  const total = staticDim(dim);
  const n = node.output.length;
  if (total === undefined) return undefined;
  const chunk = Math.ceil(total / n);
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, total - i * chunk)));
}

/** Resolved Slice parameters on each sliced axis (static), or undefined when unknown. */
export interface SliceAxis { axis: number; start: number; end: number; step: number }

/** Static slice parameters, clamped like ONNX Slice; undefined when not known at build time. */
export function sliceParams(node: NodeProto, ins: readonly (TensorInfo | undefined)[]): SliceAxis[] | undefined {
  const xs = ins[0]?.shape;
  const starts = constNumbers(ins[1]);
  const ends = constNumbers(ins[2]);
  if (xs === undefined || starts === undefined || ends === undefined) return undefined;
  const axes = node.input.length > 3 && node.input[3] !== "" ? constNumbers(ins[3]) : starts.map((_, i) => i);
  const steps = node.input.length > 4 && node.input[4] !== "" ? constNumbers(ins[4]) : starts.map(() => 1);
  if (axes === undefined || steps === undefined) return undefined;
  const out: SliceAxis[] = [];
  for (let i = 0; i < starts.length; i++) {
    const axis = normAxis(axes[i] ?? 0, xs.length);
    const dim = staticDim(xs[axis]);
    const step = steps[i] ?? 1;
    if (dim === undefined) {
      // A slice that provably keeps the whole (batch) axis is harmless.
      if (step === 1 && (starts[i] ?? 0) === 0 && (ends[i] ?? 0) >= 2 ** 31 - 1) { out.push({ axis, start: 0, end: Infinity, step }); continue; }
      return undefined;
    }
    const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));
    let s = starts[i] ?? 0, e = ends[i] ?? 0;
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) { s = clamp(s, 0, dim); e = clamp(e, 0, dim); } else { s = clamp(s, 0, dim - 1); e = clamp(e, -1, dim - 1); }
    out.push({ axis, start: s, end: e, step });
  }
  return out;
}


/** Output shape of Reshape (0 copies, -1 infers, unless allowzero). */
export function reshapeShape(xs: readonly Dim[] | undefined, target: readonly Dim[] | undefined, allowZero: boolean): Dim[] | undefined {
  if (target === undefined) return undefined;
  const out: Dim[] = target.map((d, i) => (!allowZero && d !== undefined && d.p === 0 && d.c === 0 ? xs?.[i] : d));
  const minus = out.findIndex((d) => d !== undefined && d.p === 0 && d.c === -1);
  if (minus >= 0) {
    if (xs === undefined) { out[minus] = undefined; return out; }
    const known = dimProduct(out.filter((_, i) => i !== minus));
    out[minus] = dimDiv(dimProduct(xs), known);
    const total = dimProduct(xs);
    if (known !== undefined && total !== undefined && known.p <= total.p && total.c % known.c !== 0) out[minus] = undefined;
  }
  return out;
}

/** Output shape of Conv / MaxPool / AveragePool (explicit pads, ceil_mode, SAME/VALID auto_pad). */
export function poolShape(node: NodeProto, xs: readonly Dim[] | undefined, w: readonly Dim[] | undefined): Dim[] | undefined {
  if (xs === undefined) return undefined;
  const sp = xs.length - 2;
  const kernel = attrInts(node, "kernel_shape") ?? w?.slice(2).map((d) => staticDim(d) ?? -1);
  if (kernel === undefined || kernel.some((k) => k < 0)) return undefined;
  const strides = attrInts(node, "strides") ?? new Array<number>(sp).fill(1);
  const dil = attrInts(node, "dilations") ?? new Array<number>(sp).fill(1);
  const pads = attrInts(node, "pads") ?? new Array<number>(2 * sp).fill(0);
  const ceil = attrInt(node, "ceil_mode", 0) === 1;
  const mode = attrString(node, "auto_pad", "NOTSET");
  const out: Dim[] = [xs[0], node.opType === "Conv" ? w?.[0] : xs[1]];
  for (let i = 0; i < sp; i++) {
    const n = staticDim(xs[i + 2]);
    if (n === undefined) { out.push(undefined); continue; }
    const s = strides[i] ?? 1, k = kernel[i] ?? 1, d = dil[i] ?? 1;
    if (mode === "SAME_UPPER" || mode === "SAME_LOWER") { out.push(dimOf(Math.ceil(n / s))); continue; }
    const p = mode === "VALID" ? 0 : (pads[i] ?? 0) + (pads[i + sp] ?? 0);
    const span = n + p - d * (k - 1) - 1;
    let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (ceil && (o - 1) * s >= n + (pads[i] ?? 0)) o -= 1;
    out.push(dimOf(o));
  }
  return out;
}

