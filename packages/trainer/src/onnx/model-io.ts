import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { TrainerError } from "../trainer-error.js";
import { type GraphProto, type ModelProto, ModelProtoSchema } from "./gen/onnx_pb.js";
import { assertInlineData } from "./tensor-data.js";

/**
 * Parses an ONNX model. Fields this schema does not name are kept as unknown fields, so
 * `encodeModel(decodeModel(b))` preserves them. Models whose tensors live in external files
 * are refused (a model travels as one sealed blob).
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (cause) {
    throw new TrainerError("invalid-model", "the model is not a valid ONNX protobuf (ModelProto); export it again with torch.onnx.export", { cause });
  }
  if (model.graph === undefined) {
    throw new TrainerError("invalid-model", "the ONNX model has no graph");
  }
  checkInline(model.graph);
  return model;
}

function checkInline(graph: GraphProto): void {
  for (const t of graph.initializer) assertInlineData(t);
  for (const n of graph.node) {
    for (const a of n.attribute) {
      if (a.t !== undefined) assertInlineData(a.t);
      for (const t of a.tensors) assertInlineData(t);
      if (a.g !== undefined) checkInline(a.g);
      for (const g of a.graphs) checkInline(g);
    }
  }
}

/** Serializes an ONNX model (unknown fields included). */
export function encodeModel(model: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, model);
}

/** The opset version of the default ONNX domain ("" or "ai.onnx"); 0 when absent. */
export function defaultOpsetVersion(model: ModelProto): number {
  for (const o of model.opsetImport) {
    if (o.domain === "" || o.domain === "ai.onnx") return Number(o.version);
  }
  return 0;
}
