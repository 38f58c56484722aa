import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { TrainerError } from "../trainer-error.js";
import { GraphProtoSchema, ModelProtoSchema, OperatorSetIdProtoSchema, StringStringEntryProtoSchema, TensorProtoSchema, TensorProto_DataLocation } from "./gen/onnx_pb.js";
import { readInitializers, withInitializers } from "./initializers.js";
import { decodeModel, defaultOpsetVersion, encodeModel } from "./model-io.js";
import { float32Tensor, int64Tensor, tensorToFloat32, tensorToNumbers } from "./tensor-data.js";

const dir = new URL("../../../../fixtures/training/", import.meta.url);

describe("ONNX model IO", () => {
  it("round-trips a PyTorch export byte for byte", () => {
    const bytes = new Uint8Array(readFileSync(new URL("transformer.onnx", dir)));
    const m = decodeModel(bytes);
    assert.equal(defaultOpsetVersion(m), 17);
    assert.deepEqual(encodeModel(m), bytes);
  });

  it("keeps fields this schema does not name (unknown fields survive)", () => {
    const base = toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n, graph: create(GraphProtoSchema, { name: "g" }), opsetImport: [create(OperatorSetIdProtoSchema, { version: 17n })] }));
    // ModelProto field 20 (training_info) and 25 (functions) are not in the subset: append
    // a length-delimited field 25 with 3 payload bytes.
    const extra = Uint8Array.from([(25 << 3) | 2, 0x01, 3, 0x0a, 0x01, 0x61]);
    const withUnknown = new Uint8Array([...base, ...extra]);
    const again = encodeModel(decodeModel(withUnknown));
    assert.deepEqual(again.subarray(again.length - extra.length), extra);
  });

  it("reads raw_data and typed fields alike", () => {
    const typed = create(TensorProtoSchema, { name: "t", dims: [2n], dataType: 1, floatData: [1.5, -2] });
    assert.deepEqual(Array.from(tensorToFloat32(typed)), [1.5, -2]);
    assert.deepEqual(Array.from(tensorToFloat32(float32Tensor("r", [2], Float32Array.of(1.5, -2)))), [1.5, -2]);
    assert.deepEqual(tensorToNumbers(int64Tensor("i", [3], [1, -5, 7])), [1, -5, 7]);
    assert.deepEqual(tensorToNumbers(create(TensorProtoSchema, { name: "i", dims: [2n], dataType: 7, int64Data: [3n, -4n] })), [3, -4]);
    const doubles = create(TensorProtoSchema, { name: "d", dims: [1n], dataType: 11, doubleData: [0.25] });
    assert.deepEqual(Array.from(tensorToFloat32(doubles)), [0.25]);
  });

  it("refuses external data with a clear error", () => {
    const t = create(TensorProtoSchema, {
      name: "w", dims: [2n], dataType: 1, dataLocation: TensorProto_DataLocation.EXTERNAL,
      externalData: [create(StringStringEntryProtoSchema, { key: "location", value: "w.bin" })],
    });
    const bytes = toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n, graph: create(GraphProtoSchema, { initializer: [t] }) }));
    assert.throws(() => decodeModel(bytes), (e: unknown) => e instanceof TrainerError && e.code === "invalid-model" && /external data/.test(e.message));
  });

  it("replaces initializers and keeps everything else", () => {
    const bytes = new Uint8Array(readFileSync(new URL("mlp.onnx", dir)));
    const inits = readInitializers(bytes);
    const first = [...inits.keys()][0] ?? "";
    const w = inits.get(first);
    assert.ok(w !== undefined);
    const changed = w.data.map((v) => v * 2);
    const out = withInitializers(bytes, new Map([[first, changed]]));
    const after = readInitializers(out);
    assert.deepEqual(Array.from(after.get(first)?.data ?? []), Array.from(changed));
    assert.deepEqual(decodeModel(out).graph?.node.length, decodeModel(bytes).graph?.node.length);
    assert.throws(() => withInitializers(bytes, new Map([["nope", changed]])), (e: unknown) => e instanceof TrainerError && e.code === "invalid-argument");
    assert.throws(() => withInitializers(bytes, new Map([[first, new Float32Array(1)]])), (e: unknown) => e instanceof TrainerError && e.code === "invalid-argument");
  });
});
