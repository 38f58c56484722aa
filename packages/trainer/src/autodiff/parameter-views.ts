import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { TrainerError } from "../trainer-error.js";
import { attrInt } from "./attributes.js";
import { isDifferentiableInput } from "./model-analysis.js";
import { nonDifferentiableOps } from "./vjp-rules.js";
import { constNumbers, normAxis, sliceParams } from "./shape-helpers.js";
import type { TensorInfo } from "./tensor-info.js";

/** Ops that rearrange a parameter without changing any value (so norms are preserved). */
const viewOps = new Set(["Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Cast", "Slice", "Split", "Gather"]);

/**
 * Per-sample norms add up over the uses of a parameter only when the uses see disjoint parts
 * of it: each parameter (or view of it) must be used once, or split into disjoint slices
 * (PyTorch's packed attention projections). Tied weights would need cross terms, refused here.
 */
export function checkParameterViews(nodes: readonly NodeProto[], params: ReadonlySet<string>, isView: (n: string) => boolean, infos: ReadonlyMap<string, TensorInfo>): void {
  const consumers = new Map<string, { node: NodeProto; input: number }[]>();
  for (const n of nodes) {
    n.input.forEach((i, j) => {
      if (i === "" || !isView(i) || !isDifferentiableInput(n.opType, j) || nonDifferentiableOps.has(n.opType)) return;
      const list = consumers.get(i) ?? [];
      list.push({ node: n, input: j });
      consumers.set(i, list);
    });
  }
  for (const n of nodes) {
    if (n.output.some((o) => isView(o)) && !viewOps.has(n.opType)) {
      throw new TrainerError("unsupported-op", `${n.opType} node "${n.name}" computes with a parameter before it meets the data; DP per-sample norms need parameters used directly (or transposed/reshaped/sliced)`);
    }
  }
  for (const [name, list] of consumers) {
    if (list.length <= 1) continue;
    const root = params.has(name) ? `"${name}"` : `a view of a parameter ("${name}")`;
    const ranges: { axis: number; start: number; end: number }[] = [];
    for (const { node, input } of list) {
      const ins = node.input.map((i) => infos.get(i));
      if (input === 0 && node.opType === "Slice") {
        const p = sliceParams(node, ins);
        if (p !== undefined && p.length === 1 && p[0] !== undefined && p[0].step === 1) { ranges.push(p[0]); continue; }
      }
      if (input === 0 && node.opType === "Gather") {
        const idx = constNumbers(ins[1]);
        const dims = ins[0]?.shape;
        if (idx !== undefined && idx.length === 1 && (ins[1]?.shape?.length ?? 1) === 0 && dims !== undefined) {
          const axis = normAxis(attrInt(node, "axis", 0), dims.length);
          const k = idx[0] ?? 0;
          const d = dims[axis]?.c ?? 0;
          const s = k < 0 ? k + d : k;
          ranges.push({ axis, start: s, end: s + 1 });
          continue;
        }
      }
      const folded = list.some((u) => u.node.opType === "Identity") ? " (ONNX constant folding merges equal initializers: export with do_constant_folding=False)" : "";
      throw new TrainerError("unsupported-op", `${root} is used by several nodes (${list.map((u) => `"${u.node.name}"`).join(", ")}); DP per-sample norms need each parameter used once (tied weights are not supported)${folded}`);
    }
    const axes = new Set(ranges.map((r) => r.axis));
    const sorted = [...ranges].sort((a, b) => a.start - b.start);
    const overlap = sorted.some((r, i) => i > 0 && r.start < (sorted[i - 1]?.end ?? 0));
    if (axes.size !== 1 || overlap) {
      throw new TrainerError("unsupported-op", `${root} is sliced into overlapping parts; DP per-sample norms need disjoint slices`);
    }
  }
}
