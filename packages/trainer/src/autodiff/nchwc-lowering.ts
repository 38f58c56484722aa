import { create } from "@bufbuild/protobuf";
import { type AttributeProto, type NodeProto, NodeProtoSchema } from "../onnx/gen/onnx_pb.js";
import { attr, attrInt, attrInts, attrString } from "./attributes.js";
import { type GraphBuilder, NCHWC_DOMAIN } from "./graph-builder.js";
import { staticDim } from "./sym-dim.js";
import type { TensorInfo } from "./tensor-info.js";

/** Activations MLAS fuses into an NCHWc convolution (onnxruntime's NchwcTransformer fuses the same). */
const FUSABLE = new Set(["Relu", "Tanh", "Sigmoid"]);

/** Float elementwise ops that run unchanged on blocked tensors of one shape. */
const ELEMENTWISE = new Set(["Add", "Sub", "Mul", "Div", "Neg", "Sum", "Tanh", "Relu", "Sigmoid", "Sqrt", "Exp", "Abs"]);

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
export function lowerToNchwc(b: GraphBuilder, nodes: readonly NodeProto[], info: (name: string) => TensorInfo, graphOutputs: ReadonlySet<string>, block: number, isScalarConstant: (name: string) => boolean): NodeProto[] {
  const consumers = new Map<string, NodeProto[]>();
  for (const n of nodes) for (const i of n.input) if (i !== "") consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output) producer.set(o, n);
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

  // Decide, in graph order: the blocked twin of each NCHW tensor that has one (its NCHW shape
  // without the batch, when known), and which nodes run on the twins.
  const twins = new Map<string, { name: string; shape: readonly number[] | undefined }>();
  const fusedInto = new Map<NodeProto, NodeProto>();
  const lowered = new Set<NodeProto>();
  /** ReorderInput nodes whose input has a twin: their output is that twin. */
  const alias = new Map<string, string>();
  const dropped = new Set<NodeProto>();
  for (const n of nodes) {
    if (fusedInto.has(n)) continue;
    if (eligibleConv(n)) {
      const act = single(n.output[0] ?? "");
      const fused = act !== undefined && isDefault(act) && FUSABLE.has(act.opType) ? act : undefined;
      if (fused !== undefined) fusedInto.set(fused, n);
      const out = (fused ?? n).output[0] ?? "";
      twins.set(out, { name: b.fresh("nchwc"), shape: dims4(info, n.output[0] ?? "", 1) });
      lowered.add(n);
    } else if (n.opType === "MaxPool" && isDefault(n) && n.output.slice(1).every((o) => o === "") && twins.has(n.input[0] ?? "")) {
      twins.set(n.output[0] ?? "", { name: b.fresh("nchwc"), shape: dims4(info, n.output[0] ?? "", 1) });
      lowered.add(n);
    } else if (n.domain === NCHWC_DOMAIN && n.opType === "ReorderInput") {
      const t = twins.get(n.input[0] ?? "");
      if (t !== undefined) { alias.set(n.output[0] ?? "", t.name); dropped.add(n); }
    } else if (n.domain === NCHWC_DOMAIN && n.opType === "ReorderOutput" && attrInt(n, "channels", 0) % block === 0) {
      // A gradient rule's result: its input is the twin.
      const src = n.input[0] ?? "";
      twins.set(n.output[0] ?? "", { name: alias.get(src) ?? src, shape: b.blockedShapes.get(n.output[0] ?? "") });
    } else if (isDefault(n) && ELEMENTWISE.has(n.opType) && n.output.length === 1) {
      // Same-shape elementwise ops (tanh's backward on blocked activations and gradients):
      // layout-agnostic, so they run on the twins.
      const shapes = n.input.filter((i) => !isScalarConstant(i)).map((i) => twins.get(i)?.shape);
      const first = shapes[0];
      if (first !== undefined && shapes.every((sh) => sh !== undefined && sh.join() === first.join())) {
        twins.set(n.output[0] ?? "", { name: b.fresh("nchwc"), shape: first });
        lowered.add(n);
      }
    }
  }
  if (lowered.size === 0 && dropped.size === 0) return [...nodes];

  const out: NodeProto[] = [];
  const emit = (opType: string, inputs: readonly string[], outputs: readonly string[], attrs: readonly AttributeProto[] = [], domain = ""): void => {
    out.push(create(NodeProtoSchema, { opType, domain, input: [...inputs], output: [...outputs], attribute: [...attrs], name: b.fresh(`nchwc/${opType}_node`) }));
  };
  const reorderedInputs = new Map<string, string>();
  /** The blocked twin of `x`, reordering an NCHW tensor once. */
  const blockedInput = (x: string): string => {
    const have = twins.get(x)?.name ?? reorderedInputs.get(x);
    if (have !== undefined) return have;
    const y = b.fresh("nchwc_in");
    emit("ReorderInput", [x], [y], [], NCHWC_DOMAIN);
    reorderedInputs.set(x, y);
    return y;
  };
  /** ReorderOutput of a lowered node's result where a node that is not lowered (or the graph) reads it. */
  const unblock = (name: string): void => {
    const t = twins.get(name);
    if (t === undefined) return;
    const readers = consumers.get(name) ?? [];
    if (graphOutputs.has(name) || readers.some((r) => !lowered.has(r) && !dropped.has(r))) {
      emit("ReorderOutput", [t.name], [name], [attr.int("channels", t.shape?.[0] ?? 0)], NCHWC_DOMAIN);
    }
  };
  const moved = new Set<NodeProto>();
  for (const n of nodes) {
    if (fusedInto.has(n) || dropped.has(n) || moved.has(n)) continue;
    if (!lowered.has(n)) {
      out.push(n.input.some((i) => alias.has(i)) ? create(NodeProtoSchema, { ...n, input: n.input.map((i) => alias.get(i) ?? i) }) : n);
      continue;
    }
    const result = n.output[0] ?? "";
    if (n.opType === "MaxPool") {
      const keep = n.attribute.filter((a) => ["auto_pad", "kernel_shape", "dilations", "strides", "pads", "ceil_mode", "storage_order"].includes(a.name));
      emit("MaxPool", [blockedInput(n.input[0] ?? "")], [twins.get(result)?.name ?? ""], keep, NCHWC_DOMAIN);
      unblock(result);
      continue;
    }
    if (n.opType !== "Conv") {
      emit(n.opType, n.input.map((i) => (isScalarConstant(i) ? i : (twins.get(i)?.name ?? i))), [twins.get(result)?.name ?? ""], n.attribute);
      unblock(result);
      continue;
    }
    const [x = "", w = "", bias = ""] = n.input;
    const [cout = 0, cin = 0, kh = 0, kw = 0] = dims4(info, w) ?? [];
    const act = [...fusedInto].find(([, c]) => c === n)?.[0];
    const activation = act !== undefined ? [attr.string("activation", act.opType)] : [];
    const fusedResult = (act ?? n).output[0] ?? "";
    const reorder = (weight: string, shape: readonly number[]): string => {
      // OIHWBo: [Co/B, Bo, Ci, Kh, Kw] -> [Co/B, Ci, Kh, Kw, Bo]; OIHWBiBo: [Co/B, Bo, Ci/B, Bi, Kh, Kw] -> [Co/B, Ci/B, Kh, Kw, Bi, Bo].
      const [o = 0, i = 0, h = 0, v = 0] = shape;
      const direct = i < block;
      const w1 = b.fresh("nchwc_w"), w2 = b.fresh("nchwc_w"), wb = b.fresh("nchwc_w");
      emit("Reshape", [weight, b.i64(direct ? [o / block, block, i, h, v] : [o / block, block, i / block, block, h, v])], [w1]);
      emit("Transpose", [w1], [w2], [attr.ints("perm", direct ? [0, 2, 3, 4, 1] : [0, 2, 4, 5, 3, 1])]);
      emit("Reshape", [w2, b.i64([o, i, h, v])], [wb]);
      return wb;
    };
    const s2d = spaceToDepthGeometry(n, info, cin, kh, kw, block);
    if (s2d !== undefined) {
      // A strided conv over few channels as a stride-1 conv over s*s times as many
      // (SpaceToDepth of the padded input): MLAS's NCHW-input kernel is faster at stride 1
      // (fmnist_cnn's first conv: about 1.4 -> 1.2 ms at batch 256).
      const { s, pads, m } = s2d;
      let xp = x;
      if (pads.some((p) => p !== 0)) {
        // The same Pad may be there already (a single-channel conv's weight gradient pads x).
        const padsName = b.i64([0, 0, pads[0] ?? 0, pads[1] ?? 0, 0, 0, pads[2] ?? 0, pads[3] ?? 0]);
        const same = nodes.find((p) => p.opType === "Pad" && isDefault(p) && p.input.length === 2 && p.input[0] === x && p.input[1] === padsName);
        if (same !== undefined) {
          // Moved here, before its first reader.
          xp = same.output[0] ?? "";
          out.push(same);
          moved.add(same);
        } else { xp = b.fresh("nchwc_pad"); emit("Pad", [x, padsName], [xp]); }
      }
      const xs = b.fresh("nchwc_s2d");
      emit("SpaceToDepth", [xp], [xs], [attr.int("blocksize", s)]);
      // W[co, ci, jy*s+py, jx*s+px] -> W'[co, (py*s+px)*Cin+ci, jy, jx] (SpaceToDepth's channel
      // order), directly in the OIHWBo layout: [Co/B, Bo, Ci, jy, py, jx, px] -> [Co/B, py, px, Ci, jy, jx, Bo].
      const w7 = b.fresh("nchwc_w"), wt = b.fresh("nchwc_w"), wb = b.fresh("nchwc_w");
      emit("Reshape", [w, b.i64([cout / block, block, cin, m[0] ?? 0, s, m[1] ?? 0, s])], [w7]);
      emit("Transpose", [w7], [wt], [attr.ints("perm", [0, 4, 6, 2, 3, 5, 1])]);
      emit("Reshape", [wt, b.i64([cout, cin * s * s, m[0] ?? 0, m[1] ?? 0])], [wb]);
      emit("Conv", [xs, wb, ...(bias !== "" ? [bias] : [])], [twins.get(fusedResult)?.name ?? ""], [attr.ints("kernel_shape", m), ...activation], NCHWC_DOMAIN);
      unblock(fusedResult);
      continue;
    }
    const wb = reorder(w, [cout, cin, kh, kw]);
    const attrs = [...n.attribute.filter((a) => ["auto_pad", "kernel_shape", "dilations", "strides", "pads", "group"].includes(a.name)), ...activation];
    emit("Conv", [cin < block ? x : blockedInput(x), wb, ...(bias !== "" ? [bias] : [])], [twins.get(fusedResult)?.name ?? ""], attrs, NCHWC_DOMAIN);
    unblock(fusedResult);
  }
  return removeDeadNodes(out, graphOutputs);
}

/** Nodes whose outputs nothing reads (reorders made redundant above), removed to a fixpoint. */
function removeDeadNodes(nodes: readonly NodeProto[], graphOutputs: ReadonlySet<string>): NodeProto[] {
  const live = new Set(graphOutputs);
  const keep: NodeProto[] = [];
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    if (n === undefined || !n.output.some((o) => o !== "" && live.has(o))) continue;
    keep.push(n);
    for (const i of n.input) live.add(i);
  }
  return keep.reverse();
}

/**
 * When a conv on an NCHW input (fewer channels than a block) has one stride s > 1 dividing
 * its kernel, no dilation and stays under a block after SpaceToDepth: s, the pads that make
 * the input exactly the rows and columns the conv reads (negative: crop), and the kernel / s.
 */
function spaceToDepthGeometry(n: NodeProto, info: (name: string) => TensorInfo, cin: number, kh: number, kw: number, block: number): { s: number; pads: number[]; m: number[] } | undefined {
  const strides = attrInts(n, "strides") ?? [1, 1];
  const s = strides[0] ?? 1;
  const mode = attrString(n, "auto_pad", "NOTSET");
  if (s <= 1 || strides[1] !== s || kh % s !== 0 || kw % s !== 0 || cin * s * s >= block) return undefined;
  if ((attrInts(n, "dilations") ?? [1, 1]).some((d) => d !== 1) || (mode !== "NOTSET" && mode !== "VALID")) return undefined;
  const xs = dims4(info, n.input[0] ?? "", 2), ys = dims4(info, n.output[0] ?? "", 2);
  if (xs === undefined || ys === undefined) return undefined;
  const pads = mode === "VALID" ? [0, 0, 0, 0] : (attrInts(n, "pads") ?? [0, 0, 0, 0]);
  const k = [kh, kw];
  // The rows read: [-pad_begin, (O - 1) * s + k - pad_begin).
  const ends = [0, 1].map((i) => ((ys[i] ?? 0) - 1) * s + (k[i] ?? 0) - (pads[i] ?? 0) - (xs[i] ?? 0));
  return { s, pads: [pads[0] ?? 0, pads[1] ?? 0, ends[0] ?? 0, ends[1] ?? 0], m: [kh / s, kw / s] };
}
