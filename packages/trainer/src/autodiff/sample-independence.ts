import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { TrainerError } from "../trainer-error.js";
import { attrInt } from "./attributes.js";
import { normAxis, reduceAxes } from "./shape-helpers.js";
import type { TensorInfo } from "./tensor-info.js";

const reductions = new Set(["ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL2", "ReduceLogSumExp", "ReduceMax", "ReduceMin"]);

/**
 * DP-SGD's per-sample clipping assumes each sample's loss depends on that sample only (the
 * reason BatchNorm is refused). Every activation on the gradient path must keep a traceable
 * batch axis, and no op may reduce, normalize or contract along it.
 */
export function checkSampleIndependence(nodes: readonly NodeProto[], isActivation: (n: string) => boolean, infos: ReadonlyMap<string, TensorInfo>, opset: number): void {
  const mixes = (n: NodeProto, why: string): never => {
    throw new TrainerError("unsupported-op", `${n.opType} node "${n.name}" ${why}, so samples are not independent and per-sample clipping would be wrong; remove cross-sample operations for DP training`);
  };
  for (const n of nodes) {
    const acts = n.input.filter((i) => i !== "" && isActivation(i));
    if (acts.length === 0) continue;
    const x = infos.get(n.input[0] ?? "");
    const batch = x?.batch?.axis;
    const rank = x?.shape?.length;
    if (batch !== undefined && rank !== undefined) checkAxes(n, batch, rank);
    for (const o of n.output) {
      if (o !== "" && isActivation(o) && infos.get(o)?.batch === undefined && infos.get(o)?.shape !== undefined) {
        mixes(n, `produces "${o}" without a batch axis (a reduction over the batch?)`);
      }
    }
  }
  function checkAxes(n: NodeProto, batch: number, rank: number): void {
    if ((n.opType === "Softmax" || n.opType === "LogSoftmax") && normAxis(attrInt(n, "axis", -1), rank) === batch) mixes(n, "normalizes along the batch axis");
    if (reductions.has(n.opType) && reduceAxes(n, opset, n.input.map((i) => infos.get(i)), rank)?.includes(batch)) mixes(n, "reduces along the batch axis");
    if (n.opType === "LayerNormalization" && normAxis(attrInt(n, "axis", -1), rank) <= batch) mixes(n, "normalizes along the batch axis");
    if (n.opType === "MatMul" && isActivation(n.input[0] ?? "") && batch === rank - 1) mixes(n, "contracts the batch axis");
  }
}
