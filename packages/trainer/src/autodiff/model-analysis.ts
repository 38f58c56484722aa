import { create } from "@bufbuild/protobuf";
import type { GraphProto, NodeProto, ValueInfoProto } from "../onnx/gen/onnx_pb.js";
import { TensorShapeProtoSchema, TensorShapeProto_DimensionSchema, TypeProtoSchema, TypeProto_TensorSchema, ValueInfoProtoSchema } from "../onnx/gen/onnx_pb.js";
import { OnnxDataType } from "../onnx/tensor-data.js";
import { nonDifferentiableOps } from "./vjp-rules.js";
import type { TensorInfo } from "./tensor-info.js";

const floatTypes = new Set<number>([OnnxDataType.FLOAT, OnnxDataType.DOUBLE, OnnxDataType.FLOAT16, 16]);

/** Whether a dtype carries gradients. */
export function isFloat(dtype: number): boolean {
  return floatTypes.has(dtype);
}

/**
 * Input slots that never carry a gradient (shapes, axes, indices, conditions, and the
 * hyper-parameters of Clip and Dropout), even when fed by a float initializer.
 */
const nonDifferentiableInputs: Readonly<Record<string, readonly number[]>> = {
  Clip: [1, 2], Dropout: [1, 2], Reshape: [1], Expand: [1], Slice: [1, 2, 3, 4], Squeeze: [1], Unsqueeze: [1],
  Split: [1], ReduceSum: [1], ReduceMean: [1], ReduceSumSquare: [1], ReduceL2: [1], ReduceLogSumExp: [1], ReduceMax: [1], ReduceMin: [1], Pad: [1, 2, 3], Gather: [1], Where: [0], Tile: [1],
  Resize: [1, 2, 3],
};

/** Whether input `slot` of an op can carry a gradient. */
export function isDifferentiableInput(opType: string, slot: number): boolean {
  return !(nonDifferentiableInputs[opType]?.includes(slot) ?? false);
}

/** The nodes the named tensors depend on, in graph order. */
export function ancestorsOf(graph: GraphProto, targets: readonly string[]): NodeProto[] {
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node) for (const o of n.output) if (o !== "") producer.set(o, n);
  const keep = new Set<NodeProto>();
  const stack = [...targets];
  while (stack.length > 0) {
    const t = stack.pop() ?? "";
    const n = producer.get(t);
    if (n === undefined || keep.has(n)) continue;
    keep.add(n);
    for (const i of n.input) if (i !== "") stack.push(i);
  }
  return graph.node.filter((n) => keep.has(n));
}

/**
 * Which tensors depend on the data inputs and which on trainable parameters through
 * differentiable ops. A float tensor that depends on both is an activation whose gradient the
 * backward pass computes; one that depends only on parameters is a parameter view (a
 * transposed or sliced weight) whose gradient goes back to the parameter.
 */
export function dependencies(nodes: readonly NodeProto[], dataInputs: readonly string[], params: readonly string[], infos: ReadonlyMap<string, TensorInfo>): { data: Set<string>; param: Set<string> } {
  const data = new Set(dataInputs);
  const param = new Set(params);
  for (const n of nodes) {
    const d = n.input.some((i) => data.has(i));
    const p = !nonDifferentiableOps.has(n.opType) && n.input.some((i, slot) => param.has(i) && isDifferentiableInput(n.opType, slot));
    for (const o of n.output) {
      if (o === "") continue;
      // Random ops and other sources: treat as data-dependent when they feed activations.
      if (d) data.add(o);
      const dtype = infos.get(o)?.dtype ?? 0;
      // Unknown dtypes (ops shape inference does not know) count as float so they get refused.
      if (p && (dtype === 0 || isFloat(dtype))) param.add(o);
    }
  }
  return { data, param };
}

/** A tensor ValueInfo with a float/int element type and dims (strings are symbolic). */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): ValueInfoProto {
  const shape = create(TensorShapeProtoSchema, {
    dim: dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: typeof d === "number" ? { case: "dimValue", value: BigInt(d) } : { case: "dimParam", value: d } })),
  });
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, { value: { case: "tensorType", value: create(TypeProto_TensorSchema, { elemType, shape }) } }),
  });
}
