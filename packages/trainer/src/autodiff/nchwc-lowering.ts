import { create } from "@bufbuild/protobuf";
import { type AttributeProto, type NodeProto, NodeProtoSchema } from "../onnx/gen/onnx_pb.js";
import { attr, attrInt } from "./attributes.js";
import type { GraphBuilder } from "./graph-builder.js";
import { staticDim } from "./sym-dim.js";
import type { TensorInfo } from "./tensor-info.js";

/** onnxruntime's domain of the NCHWc (channel-blocked) CPU kernels. */
export const NCHWC_DOMAIN = "com.microsoft.nchwc";

/** Activations MLAS fuses into an NCHWc convolution (onnxruntime's NchwcTransformer fuses the same). */
const FUSABLE = new Set(["Relu", "Tanh", "Sigmoid"]);

function isDefault(n: NodeProto): boolean {
  return n.domain === "" || n.domain === "ai.onnx";
}

/** Static dims of a 4-D tensor, or undefined. */
function dims4(info: (name: string) => TensorInfo, name: string, from = 0): number[] | undefined {
  const s = info(name).shape;
  if (s === undefined || s.length !== 4) return undefined;
  const out: number[] = [];
  for (const d of s.slice(from)) {
    const v = staticDim(d);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/**
 * Runs the forward's 2-D convolutions (and the max pools between them) on onnxruntime's
 * NCHWc kernels, which it only picks for constant weights: its NchwcTransformer reorders them
 * when the session is created. A training graph takes the weights as inputs, so their
 * convolutions would run the im2col path (fmnist_cnn's two: 3.7 ms instead of 2.1 at batch
 * 256). Here the weight inputs are reordered inside the graph into MLAS's blocked filter
 * layouts (OIHWBo when the input has fewer channels than a block and stays NCHW, OIHWBiBo
 * otherwise: MlasReorderFilterOIHWBo / OIHWBiBo in onnxruntime's mlas/lib/reorder.cpp), the
 * convolution runs as `com.microsoft.nchwc.Conv` with its activation fused, a following
 * MaxPool as `com.microsoft.nchwc.MaxPool`, and a `ReorderOutput` gives back the NCHW tensor
 * where anything else reads it (the backward pass). The NCHWc Conv kernel reads W as plain
 * data each run (contrib_ops/cpu/nchwc_ops.cc), so runtime weights are fine.
 *
 * Lowered: group-1 Convs with a 4-D input of static channels, Cout a multiple of `block`, Cin
 * below `block` or a multiple of it (the conditions of onnxruntime's transformer). `block` is
 * the NCHWc block size of the machine that runs the graph (see detectNchwcBlockSize).
 */
export function lowerToNchwc(b: GraphBuilder, nodes: readonly NodeProto[], info: (name: string) => TensorInfo, graphOutputs: ReadonlySet<string>, block: number): NodeProto[] {
  const consumers = new Map<string, NodeProto[]>();
  for (const n of nodes) for (const i of n.input) if (i !== "") consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const eligibleConv = (n: NodeProto): boolean => {
    if (n.opType !== "Conv" || !isDefault(n) || attrInt(n, "group", 1) !== 1) return false;
    const w = dims4(info, n.input[1] ?? "");
    const x = info(n.input[0] ?? "").shape;
    const cin = x?.length === 4 && x[1] !== undefined ? staticDim(x[1]) : undefined;
    if (w === undefined || cin === undefined || dims4(info, n.output[0] ?? "", 1) === undefined) return false;
    const [cout = 0, wc = 0] = w;
    return wc === cin && cout % block === 0 && (cin < block || cin % block === 0);
  };
  const single = (name: string): NodeProto | undefined => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 && !graphOutputs.has(name) ? c[0] : undefined;
  };

  // Decide: blocked twin of each tensor produced by a lowered node (by original name).
  const blocked = new Map<string, { name: string; channels: number }>();
  const fusedInto = new Map<NodeProto, NodeProto>();
  const lowered = new Set<NodeProto>();
  for (const n of nodes) {
    if (eligibleConv(n)) {
      const act = single(n.output[0] ?? "");
      const fused = act !== undefined && isDefault(act) && FUSABLE.has(act.opType) ? act : undefined;
      if (fused !== undefined) fusedInto.set(fused, n);
      const out = (fused ?? n).output[0] ?? "";
      blocked.set(out, { name: b.fresh("nchwc"), channels: dims4(info, n.input[1] ?? "")?.[0] ?? 0 });
      lowered.add(n);
    } else if (n.opType === "MaxPool" && isDefault(n) && n.output.slice(1).every((o) => o === "") && blocked.has(n.input[0] ?? "") && dims4(info, n.output[0] ?? "", 1) !== undefined) {
      blocked.set(n.output[0] ?? "", { name: b.fresh("nchwc"), channels: blocked.get(n.input[0] ?? "")?.channels ?? 0 });
      lowered.add(n);
    }
  }
  if (lowered.size === 0) return [...nodes];

  const out: NodeProto[] = [];
  const emit = (opType: string, inputs: readonly string[], outputs: readonly string[], attrs: readonly AttributeProto[] = [], domain = ""): void => {
    out.push(create(NodeProtoSchema, { opType, domain, input: [...inputs], output: [...outputs], attribute: [...attrs], name: b.fresh(`nchwc/${opType}_node`) }));
  };
  const reorderedInputs = new Map<string, string>();
  /** The blocked twin of `x`, reordering an NCHW tensor once. */
  const blockedInput = (x: string): string => {
    const have = blocked.get(x)?.name ?? reorderedInputs.get(x);
    if (have !== undefined) return have;
    const y = b.fresh("nchwc_in");
    emit("ReorderInput", [x], [y], [], NCHWC_DOMAIN);
    reorderedInputs.set(x, y);
    return y;
  };
  /** ReorderOutput of a lowered node's result where a node that is not lowered (or the graph) reads it. */
  const unblock = (name: string): void => {
    const t = blocked.get(name);
    if (t === undefined) return;
    const readers = consumers.get(name) ?? [];
    if (graphOutputs.has(name) || readers.some((r) => !lowered.has(r))) emit("ReorderOutput", [t.name], [name], [attr.int("channels", t.channels)], NCHWC_DOMAIN);
  };
  for (const n of nodes) {
    if (fusedInto.has(n)) continue;
    if (!lowered.has(n)) { out.push(n); continue; }
    if (n.opType === "MaxPool") {
      const keep = n.attribute.filter((a) => ["auto_pad", "kernel_shape", "dilations", "strides", "pads", "ceil_mode", "storage_order"].includes(a.name));
      emit("MaxPool", [blockedInput(n.input[0] ?? "")], [blocked.get(n.output[0] ?? "")?.name ?? ""], keep, NCHWC_DOMAIN);
      unblock(n.output[0] ?? "");
      continue;
    }
    const [x = "", w = "", bias = ""] = n.input;
    const [cout = 0, cin = 0, kh = 0, kw = 0] = dims4(info, w) ?? [];
    // OIHWBo: [Co/B, Bo, Ci, Kh, Kw] -> [Co/B, Ci, Kh, Kw, Bo]; OIHWBiBo: [Co/B, Bo, Ci/B, Bi, Kh, Kw] -> [Co/B, Ci/B, Kh, Kw, Bi, Bo].
    const direct = cin < block;
    const split = direct ? [cout / block, block, cin, kh, kw] : [cout / block, block, cin / block, block, kh, kw];
    const perm = direct ? [0, 2, 3, 4, 1] : [0, 2, 4, 5, 3, 1];
    const w1 = b.fresh("nchwc_w"), w2 = b.fresh("nchwc_w"), wb = b.fresh("nchwc_w");
    emit("Reshape", [w, b.i64(split)], [w1]);
    emit("Transpose", [w1], [w2], [attr.ints("perm", perm)]);
    emit("Reshape", [w2, b.i64([cout, cin, kh, kw])], [wb]);
    const act = [...fusedInto].find(([, c]) => c === n)?.[0];
    const attrs = [
      ...n.attribute.filter((a) => ["auto_pad", "kernel_shape", "dilations", "strides", "pads", "group"].includes(a.name)),
      ...(act !== undefined ? [attr.string("activation", act.opType)] : []),
    ];
    const result = (act ?? n).output[0] ?? "";
    emit("Conv", [direct ? x : blockedInput(x), wb, ...(bias !== "" ? [bias] : [])], [blocked.get(result)?.name ?? ""], attrs, NCHWC_DOMAIN);
    unblock(result);
  }
  return out;
}
