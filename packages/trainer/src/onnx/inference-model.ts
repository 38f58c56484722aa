import { clone } from "@bufbuild/protobuf";
import { ModelProtoSchema, type GraphProto } from "./gen/onnx_pb.js";
import { withInitializers } from "./initializers.js";
import { decodeModel, encodeModel } from "./model-io.js";
import { boolTensor } from "./tensor-data.js";

/** Name of the constant that switches Dropout nodes off; chosen so it cannot clash with PyTorch's names. */
const INFERENCE_MODE = "sanctum::dropout_training_mode_false";

/**
 * The trained model as users will run it: the original graph with the trained initializers,
 * and every Dropout switched to inference. PyTorch's training-mode export (which training
 * needs) wires `training_mode = true` into each Dropout, so without this a deployed model's
 * predictions would be random. Same inputs and outputs as the original model.
 */
export function exportInferenceModel(model: Uint8Array, values: ReadonlyMap<string, Float32Array>): Uint8Array {
  return withDropoutOff(withInitializers(model, values));
}

/**
 * Replaces the `training_mode` input (opset 12+) of every Dropout, in the graph and its
 * subgraphs, by a constant false. Dropout then passes its input through and its mask is all true.
 */
export function withDropoutOff(model: Uint8Array): Uint8Array {
  const m = clone(ModelProtoSchema, decodeModel(model));
  if (m.graph === undefined || !switchOff(m.graph)) return model;
  m.graph.initializer.push(boolTensor(INFERENCE_MODE, [], [false]));
  return encodeModel(m);
}

function switchOff(graph: GraphProto): boolean {
  let changed = false;
  for (const node of graph.node) {
    if (node.opType === "Dropout" && (node.domain === "" || node.domain === "ai.onnx") && (node.input[2] ?? "") !== "") {
      node.input[2] = INFERENCE_MODE;
      changed = true;
    }
    // Outer-scope initializers are visible inside subgraphs (If/Loop/Scan bodies).
    for (const a of node.attribute) {
      if (a.g !== undefined) changed = switchOff(a.g) || changed;
      for (const g of a.graphs) changed = switchOff(g) || changed;
    }
  }
  return changed;
}
