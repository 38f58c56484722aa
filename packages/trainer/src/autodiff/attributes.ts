import { create } from "@bufbuild/protobuf";
import {
  type AttributeProto,
  type GraphProto,
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  type NodeProto,
  type TensorProto,
} from "../onnx/gen/onnx_pb.js";

function find(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** An INT attribute, or `fallback` when absent. */
export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = find(node, name);
  return a === undefined ? fallback : Number(a.i);
}

/** A FLOAT attribute, or `fallback` when absent. */
export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = find(node, name);
  return a === undefined ? fallback : a.f;
}

/** An INTS attribute, or undefined when absent. */
export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = find(node, name);
  return a === undefined ? undefined : a.ints.map((v) => Number(v));
}

/** A STRING attribute, or `fallback` when absent. */
export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = find(node, name);
  return a === undefined ? fallback : new TextDecoder().decode(a.s);
}

/** A TENSOR attribute, or undefined. */
export function attrTensor(node: NodeProto, name: string): TensorProto | undefined {
  return find(node, name)?.t;
}

/** Attribute constructors for emitted nodes. */
export const attr = {
  int(name: string, v: number): AttributeProto {
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(v) });
  },
  ints(name: string, v: readonly number[]): AttributeProto {
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: v.map((x) => BigInt(x)) });
  },
  float(name: string, v: number): AttributeProto {
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: v });
  },
  string(name: string, v: string): AttributeProto {
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(v) });
  },
  tensor(name: string, t: TensorProto): AttributeProto {
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.TENSOR, t });
  },
  /** A subgraph (a Scan body): its name must be unique, as attrKey tells graphs apart by it. */
  graph(name: string, g: GraphProto): AttributeProto {
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.GRAPH, g });
  },
};

/** A stable text key of attributes, for common-subexpression elimination of emitted nodes. */
export function attrKey(attrs: readonly AttributeProto[]): string {
  return attrs
    .map((a) => `${a.name}=${a.type}:${a.i}:${a.f}:${a.ints.join(",")}:${a.floats.join(",")}:${new TextDecoder().decode(a.s)}:${a.t === undefined ? "" : `t${a.t.name}/${a.t.dims.join(",")}/${Array.from(a.t.rawData).join(",")}`}:${a.g?.name ?? ""}`)
    .join(";");
}
