import { create } from "@bufbuild/protobuf";
import { ModelInfoSchema, type ModelInfo, type TensorSpec, TensorSpecSchema } from "@sanctum/protocol";
import type { ModelRecord, TensorSpecRecord } from "./model-record.js";

/** The wire description of a model. Only its owner sees who it is shared with. */
export function toModelInfo(model: ModelRecord, caller: string): ModelInfo {
  const owner = model.owner === caller;
  return create(ModelInfoSchema, {
    id: model.id,
    name: model.name,
    sha256: model.sha256,
    inputs: model.inputs.map(toTensorSpec),
    outputs: model.outputs.map(toTensorSpec),
    owner: model.owner,
    ...(owner ? { access: { public: model.access.public, allow: [...model.access.allow] } } : {}),
    sizeBytes: BigInt(model.sizeBytes),
    createdAt: model.createdAt,
    source: model.source,
  });
}

function toTensorSpec(spec: TensorSpecRecord): TensorSpec {
  return create(TensorSpecSchema, {
    name: spec.name,
    dtype: spec.dtype,
    shape: spec.shape.map((d) =>
      typeof d === "number" ? { value: { case: "size" as const, value: BigInt(d) } } : { value: { case: "param" as const, value: d } },
    ),
  });
}
