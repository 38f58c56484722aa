import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import * as ort from "onnxruntime-node";
import { GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema, TypeProtoSchema, TypeProto_TensorSchema, ValueInfoProtoSchema, TensorShapeProtoSchema, TensorShapeProto_DimensionSchema } from "./gen/onnx_pb.js";
import { exportInferenceModel } from "./inference-model.js";
import { encodeModel } from "./model-io.js";
import { boolTensor, float32Tensor } from "./tensor-data.js";
import { readInitializers } from "./initializers.js";

const FLOAT = 1;

function valueInfo(name: string, dims: number[]) {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: "tensorType",
        value: create(TypeProto_TensorSchema, {
          elemType: FLOAT,
          shape: create(TensorShapeProtoSchema, { dim: dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: { case: "dimValue", value: BigInt(d) } })) }),
        }),
      },
    }),
  });
}

/** y = Dropout(x * w, ratio 0.5, training_mode true), as a training-mode export has it. */
function dropoutModel(): Uint8Array {
  const graph = create(GraphProtoSchema, {
    name: "g",
    node: [
      create(NodeProtoSchema, { opType: "Mul", input: ["x", "w"], output: ["h"] }),
      create(NodeProtoSchema, { opType: "Dropout", input: ["h", "ratio", "training"], output: ["y", "mask"] }),
    ],
    initializer: [float32Tensor("w", [64], new Float32Array(64).fill(1)), float32Tensor("ratio", [], Float32Array.of(0.5)), boolTensor("training", [], [true])],
    input: [valueInfo("x", [64])],
    output: [valueInfo("y", [64])],
  });
  return encodeModel(create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: "", version: 13n })], graph }));
}

async function run(model: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  const out = await session.run({ x: new ort.Tensor("float32", x, [x.length]) });
  return out["y"]!.data as Float32Array;
}

describe("exportInferenceModel", () => {
  const x = Float32Array.from({ length: 64 }, (_, i) => i + 1);

  it("switches training-mode Dropout off, so predictions are deterministic", async () => {
    const before = await run(dropoutModel(), x);
    assert.ok(before.some((v) => v === 0), "the training-mode graph drops some values");
    const exported = exportInferenceModel(dropoutModel(), new Map([["w", new Float32Array(64).fill(2)]]));
    assert.deepEqual(Array.from(await run(exported, x)), Array.from(x, (v) => 2 * v));
    assert.deepEqual(Array.from(readInitializers(exported).get("w")!.data), new Array(64).fill(2));
  });

  it("keeps a PyTorch export's inputs and outputs", async () => {
    const model = new Uint8Array(readFileSync(new URL("../../../../fixtures/training/transformer.onnx", import.meta.url)));
    const [a, b] = await Promise.all([ort.InferenceSession.create(model), ort.InferenceSession.create(exportInferenceModel(model, new Map()))]);
    assert.deepEqual(b.inputNames, a.inputNames);
    assert.deepEqual(b.outputNames, a.outputNames);
  });
});
