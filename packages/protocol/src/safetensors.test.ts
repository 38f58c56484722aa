import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.js";
import { ProtocolError } from "./protocol-error.js";

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

test("encode then decode round-trips names, dtypes, shapes, bytes and metadata", () => {
  const labels = new Uint8Array(BigInt64Array.from([1n, 0n]).buffer);
  const bytes = encodeSafetensors(
    { x: { dtype: "float32", shape: [2, 3], data: f32([1, 2, 3, 4, 5, 6]) }, labels: { dtype: "int64", shape: [2], data: labels } },
    { format: "sanctum-dataset-v1" },
  );
  // Header length is a multiple of 8 so the buffer starts aligned.
  assert.equal(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, { format: "sanctum-dataset-v1" });
  assert.deepEqual(Object.keys(tensors).sort(), ["labels", "x"]);
  assert.equal(tensors["x"]!.dtype, "float32");
  assert.deepEqual(tensors["x"]!.shape, [2, 3]);
  assert.deepEqual([...new Float32Array(tensors["x"]!.data.slice().buffer)], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...new BigInt64Array(tensors["labels"]!.data.slice().buffer)], [1n, 0n]);
});

test("decodes a file laid out as the reference implementation writes it", () => {
  // Hand-built: {"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}} then 8 bytes.
  const json = Buffer.from('{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}');
  const out = Buffer.alloc(8 + json.length + 8);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  out.writeDoubleLE(2.5, 8 + json.length);
  const { tensors } = decodeSafetensors(new Uint8Array(out));
  assert.equal(new DataView(tensors["a"]!.data.buffer, tensors["a"]!.data.byteOffset).getFloat64(0, true), 2.5);
});

function withHeader(header: unknown, dataBytes: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  return new Uint8Array(out);
}

test("refuses malformed files with invalid-safetensors", () => {
  const cases: Uint8Array[] = [
    new Uint8Array(4),
    (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 1000n, true); return b; })(),
    withHeader([1, 2], 0),
    withHeader({ a: { dtype: "BF16", shape: [1], data_offsets: [0, 2] } }, 2),
    withHeader({ a: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, 4),
    withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, 8),
    withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, 8),
    withHeader({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4),
    withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, 4),
  ];
  for (const bytes of cases) {
    assert.throws(() => decodeSafetensors(bytes), (err: unknown) => err instanceof ProtocolError && err.code === "invalid-safetensors");
  }
});

test("the header limit applies to the declared length", () => {
  const bytes = encodeSafetensors({ a: { dtype: "uint8", shape: [1], data: new Uint8Array([1]) } });
  assert.throws(() => decodeSafetensors(bytes, { maxHeaderBytes: 8 }), (err: unknown) => err instanceof ProtocolError && err.code === "invalid-safetensors");
});
