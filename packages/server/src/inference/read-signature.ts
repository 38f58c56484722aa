import type * as ort from "onnxruntime-node";
import type { TensorSpecRecord } from "../models/model-record.js";
import { dtypeFromOrt } from "./ort-tensor.js";
import type { ModelSignature } from "./worker-messages.js";

/**
 * Reads a session's declared inputs and outputs (onnxruntime-node >= 1.22 exposes
 * `inputMetadata`/`outputMetadata`). Throws when a value is not a tensor or has a type the
 * wire does not carry (strings, float8, sequences, maps), naming it.
 */
export function readSignature(session: ort.InferenceSession): ModelSignature {
  return {
    inputs: session.inputMetadata.map((m) => spec(m, "input")),
    outputs: session.outputMetadata.map((m) => spec(m, "output")),
  };
}

function spec(m: ort.InferenceSession.ValueMetadata, role: string): TensorSpecRecord {
  if (!m.isTensor) throw new Error(`${role} '${m.name}' is not a tensor (sequences and maps are not supported)`);
  const dtype = dtypeFromOrt(m.type);
  if (dtype === undefined) throw new Error(`${role} '${m.name}' has element type ${m.type}, which Sanctum does not carry`);
  // Unnamed dynamic dimensions come back as negative numbers or empty names: call them "?".
  const shape = m.shape.map((d) => (typeof d === "number" ? (d >= 0 ? d : "?") : d === "" ? "?" : d));
  return { name: m.name, dtype, shape };
}
