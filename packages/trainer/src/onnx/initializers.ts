import { clone } from "@bufbuild/protobuf";
import { TrainerError } from "../trainer-error.js";
import { ModelProtoSchema } from "./gen/onnx_pb.js";
import { decodeModel, encodeModel } from "./model-io.js";
import { OnnxDataType, float32Tensor, tensorDims, tensorToFloat32 } from "./tensor-data.js";

/** Float initializers of a model (name -> values and shape), in graph order. */
export function readInitializers(model: Uint8Array): Map<string, { shape: number[]; data: Float32Array }> {
  const m = decodeModel(model);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const t of m.graph?.initializer ?? []) {
    if (t.dataType !== OnnxDataType.FLOAT) continue;
    out.set(t.name, { shape: tensorDims(t), data: tensorToFloat32(t) });
  }
  return out;
}

/**
 * The original inference model with some float initializers replaced (same graph, same input
 * and output names, everything else byte-for-byte the same message). Throws "invalid-argument"
 * when a name is not a float initializer or a value has the wrong length.
 */
export function withInitializers(model: Uint8Array, values: ReadonlyMap<string, Float32Array>): Uint8Array {
  const m = clone(ModelProtoSchema, decodeModel(model));
  const graph = m.graph;
  if (graph === undefined) throw new TrainerError("invalid-model", "the ONNX model has no graph");
  const seen = new Set<string>();
  graph.initializer = graph.initializer.map((t) => {
    const v = values.get(t.name);
    if (v === undefined) return t;
    if (t.dataType !== OnnxDataType.FLOAT) {
      throw new TrainerError("invalid-argument", `values: initializer "${t.name}" is not float32`);
    }
    const dims = tensorDims(t);
    const n = dims.reduce((a, b) => a * b, 1);
    if (v.length !== n) {
      throw new TrainerError("invalid-argument", `values: "${t.name}" has ${v.length} values, the initializer has ${n} (shape [${dims.join(", ")}])`);
    }
    seen.add(t.name);
    const fresh = float32Tensor(t.name, dims, v);
    fresh.docString = t.docString;
    return fresh;
  });
  for (const name of values.keys()) {
    if (!seen.has(name)) throw new TrainerError("invalid-argument", `values: "${name}" is not a float initializer of the model`);
  }
  return encodeModel(m);
}
