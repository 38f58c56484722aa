import { create } from "@bufbuild/protobuf";
import {
  type AttributeProto, GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema, type TensorProto,
} from "../../onnx/gen/onnx_pb.js";
import { encodeModel } from "../../onnx/model-io.js";
import { boolTensor, float32Tensor, int64Tensor } from "../../onnx/tensor-data.js";
import { attr } from "../attributes.js";
import { valueInfo } from "../model-analysis.js";

/** A node of a hand-built test model. */
export interface TinyNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: readonly AttributeProto[];
}

/** Description of a small test model (data inputs have a dynamic first axis "batch"). */
export interface TinyModelSpec {
  readonly opset?: number;
  /** Data inputs; `symbolic` declares the non-batch axes as dynamic ("d1", "d2", ...). */
  readonly inputs: readonly { name: string; dtype?: "float32" | "int64"; shape: readonly number[]; symbolic?: boolean }[];
  readonly params?: readonly { name: string; shape: readonly number[]; data?: Float32Array }[];
  /** Constants, emitted as Constant nodes (as PyTorch exports them) unless `initializer` is set. */
  readonly consts?: readonly { name: string; shape: readonly number[]; int64?: readonly number[]; float?: Float32Array; bool?: readonly boolean[]; initializer?: boolean }[];
  readonly nodes: readonly TinyNode[];
  readonly output: { name: string; shape: readonly number[] };
}

/** Deterministic pseudo-random normals (tests only). */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()) * scale;
  return out;
}

/** Builds an ONNX model from a spec (params become float initializers). */
export function tinyModel(spec: TinyModelSpec): Uint8Array {
  const inits: TensorProto[] = [];
  (spec.params ?? []).forEach((p, i) => {
    const n = p.shape.reduce((a, c) => a * c, 1);
    inits.push(float32Tensor(p.name, p.shape, p.data ?? randn(n, 1000 + i, 0.5)));
  });
  const constNodes: TinyNode[] = [];
  for (const c of spec.consts ?? []) {
    const t = c.bool !== undefined ? boolTensor(c.name, c.shape, c.bool) : c.int64 !== undefined ? int64Tensor(c.name, c.shape, c.int64) : float32Tensor(c.name, c.shape, c.float ?? new Float32Array());
    if (c.initializer === true) inits.push(t);
    else constNodes.push({ op: "Constant", inputs: [], outputs: [c.name], attrs: [attr.tensor("value", t)] });
  }
  const graph = create(GraphProtoSchema, {
    name: "tiny",
    node: [...constNodes, ...spec.nodes].map((n, i) => create(NodeProtoSchema, { opType: n.op, input: [...n.inputs], output: [...n.outputs], name: `${n.op}_${i}`, attribute: [...(n.attrs ?? [])] })),
    initializer: inits,
    input: spec.inputs.map((i) => valueInfo(i.name, i.dtype === "int64" ? 7 : 1, ["batch", ...i.shape.slice(1).map((d, k) => (i.symbolic === true ? `d${k + 1}` : d))])),
    output: [valueInfo(spec.output.name, 1, ["batch", ...spec.output.shape.slice(1)])],
  });
  return encodeModel(create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: "sanctum-test",
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: "", version: BigInt(spec.opset ?? 17) })],
    graph,
  }));
}
