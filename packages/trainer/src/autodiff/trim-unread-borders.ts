import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { attr, attrInt, attrInts, attrString } from "./attributes.js";
import { staticDim } from "./sym-dim.js";
import type { TensorInfo } from "./tensor-info.js";

/**
 * Forward rows and columns that no output depends on, no longer computed.
 *
 * A strided Conv or pool whose last window ends before its input does leaves the input's last
 * rows unread: fmnist_cnn's second conv (kernel 4, stride 2) reads 12 of the first pool's 13
 * rows, so the pool's 13th row, and the 14th row of the first conv's output that only it
 * reads, are computed (and differentiated) for nothing. Walking back from such a reader through
 * ops whose output rows depend only on nearby input rows (elementwise activations, stride-1
 * pools) to the Conv that makes the rows, that Conv's end padding is lowered by stride x rows,
 * so that it makes only what is read. Nothing read changes: every value kept is computed from
 * the same inputs by the same op, so the loss and every gradient are the same. The training
 * graph does this on its own copy of the forward; the exported model keeps the original.
 *
 * fmnist_cnn: the first conv's output 14 x 14 -> 13 x 13 and the first pool's 13 x 13 ->
 * 12 x 12, about a seventh less work in the layers that cost most in the backward.
 */

/** Ops whose output at a position depends only on the input at that position. */
const pointwise = new Set(["Relu", "LeakyRelu", "Tanh", "Sigmoid", "Elu", "Selu", "Softplus", "Softsign", "HardSigmoid", "Erf", "Neg", "Exp", "Abs", "Identity"]);

/**
 * Lowers the end pads of Convs whose last output rows or columns nothing reads (see above).
 * `nodes` are the forward's, in graph order, mutated in place (the caller owns a copy);
 * `infos` their inferred shapes; `kept` the tensors read from outside the forward (the loss
 * output). Returns whether anything changed; shapes must then be inferred again.
 */
export function trimUnreadBorders(nodes: readonly NodeProto[], infos: ReadonlyMap<string, TensorInfo>, kept: ReadonlySet<string>): boolean {
  const producer = new Map<string, NodeProto>();
  const readers = new Map<string, number>();
  for (const n of nodes) {
    for (const o of n.output) if (o !== "") producer.set(o, n);
    for (const i of n.input) if (i !== "") readers.set(i, (readers.get(i) ?? 0) + 1);
  }
  let changed = false;
  for (const reader of nodes) {
    const unread = unreadTail(reader, infos);
    if (unread === undefined) continue;
    const conv = producingConv(reader.input[0] ?? "", producer, readers, kept);
    if (conv !== undefined && lowerEndPads(conv, unread)) changed = true;
  }
  return changed;
}

/** Rows (per spatial axis) at the end of a windowed op's first input that none of its windows reads. */
function unreadTail(n: NodeProto, infos: ReadonlyMap<string, TensorInfo>): number[] | undefined {
  if (!(n.domain === "" || n.domain === "ai.onnx") || !["Conv", "MaxPool", "AveragePool"].includes(n.opType)) return undefined;
  if (attrString(n, "auto_pad", "NOTSET") !== "NOTSET" || attrInt(n, "ceil_mode", 0) !== 0) return undefined;
  const input = infos.get(n.input[0] ?? "")?.shape;
  const output = infos.get(n.output[0] ?? "")?.shape;
  const kernel = n.opType === "Conv" ? kernelOfConv(n, infos) : attrInts(n, "kernel_shape");
  if (input === undefined || output === undefined || kernel === undefined) return undefined;
  const sp = kernel.length;
  const strides = attrInts(n, "strides") ?? kernel.map(() => 1);
  const dilations = attrInts(n, "dilations") ?? kernel.map(() => 1);
  const pads = attrInts(n, "pads") ?? new Array<number>(2 * sp).fill(0);
  const tail = kernel.map((k, i) => {
    const size = staticDim(input[i + 2]);
    const out = staticDim(output[i + 2]);
    if (size === undefined || out === undefined) return 0;
    const reach = (out - 1) * (strides[i] ?? 1) + (k - 1) * (dilations[i] ?? 1) + 1 - (pads[i] ?? 0);
    return Math.max(0, size - reach);
  });
  return tail.some((t) => t > 0) ? tail : undefined;
}

function kernelOfConv(n: NodeProto, infos: ReadonlyMap<string, TensorInfo>): number[] | undefined {
  const given = attrInts(n, "kernel_shape");
  if (given !== undefined) return given;
  const w = infos.get(n.input[1] ?? "")?.shape;
  if (w === undefined) return undefined;
  const dims = w.slice(2).map(staticDim);
  return dims.every((d) => d !== undefined) ? (dims as number[]) : undefined;
}

/**
 * The Conv that makes `tensor` through pointwise ops and stride-1 pools without padding, each
 * tensor on the way read only once and not from outside; undefined if there is none.
 */
function producingConv(tensor: string, producer: ReadonlyMap<string, NodeProto>, readers: ReadonlyMap<string, number>, kept: ReadonlySet<string>): NodeProto | undefined {
  let t = tensor;
  for (;;) {
    if (kept.has(t) || readers.get(t) !== 1) return undefined;
    const p = producer.get(t);
    if (p === undefined || !(p.domain === "" || p.domain === "ai.onnx") || p.output.filter((o) => o !== "").length !== 1) return undefined;
    if (p.opType === "Conv") return p;
    if (!(pointwise.has(p.opType) || localPool(p))) return undefined;
    t = p.input[0] ?? "";
  }
}

/** A stride-1 pool without padding: its output loses exactly the rows its input loses. */
function localPool(n: NodeProto): boolean {
  if (n.opType !== "MaxPool" && n.opType !== "AveragePool") return false;
  const ones = (v: number[] | undefined): boolean => v === undefined || v.every((x) => x === 1);
  return ones(attrInts(n, "strides")) && ones(attrInts(n, "dilations")) && (attrInts(n, "pads") ?? []).every((p) => p === 0) &&
    attrString(n, "auto_pad", "NOTSET") === "NOTSET" && attrInt(n, "ceil_mode", 0) === 0 && attrInt(n, "storage_order", 0) === 0;
}

/**
 * Lowers `conv`'s end pads so that it makes `unread[i]` fewer rows along each spatial axis, as
 * far as its end padding allows (stride x rows per row dropped). Returns whether it changed.
 */
function lowerEndPads(conv: NodeProto, unread: readonly number[]): boolean {
  if (attrString(conv, "auto_pad", "NOTSET") !== "NOTSET") return false;
  const sp = unread.length;
  const pads = attrInts(conv, "pads");
  if (pads === undefined || pads.length !== 2 * sp) return false;
  const strides = attrInts(conv, "strides") ?? unread.map(() => 1);
  const next = [...pads];
  unread.forEach((u, i) => {
    const s = strides[i] ?? 1;
    const rows = Math.min(u, Math.floor((pads[sp + i] ?? 0) / s));
    next[sp + i] = (pads[sp + i] ?? 0) - rows * s;
  });
  if (next.every((p, i) => p === pads[i])) return false;
  const at = conv.attribute.findIndex((a) => a.name === "pads");
  conv.attribute[at] = attr.ints("pads", next);
  return true;
}
