import { test } from "node:test";
import assert from "node:assert/strict";
import { validateDatasetArrays } from "./dataset-arrays.js";
import { ProtocolError } from "./protocol-error.js";
import type { RawTensor } from "./tensor-digest.js";

const f32 = (shape: number[], values: number[]): RawTensor => ({ dtype: "float32", shape, data: new Uint8Array(Float32Array.from(values).buffer) });
const i64 = (values: bigint[]): RawTensor => ({ dtype: "int64", shape: [values.length], data: new Uint8Array(BigInt64Array.from(values).buffer) });

function refused(tensors: Record<string, RawTensor>, pattern: RegExp): void {
  assert.throws(
    () => validateDatasetArrays(tensors),
    (err: unknown) => err instanceof ProtocolError && err.code === "invalid-dataset" && pattern.test(err.message),
  );
}

test("a valid dataset gives rows and array specs in name order", () => {
  const summary = validateDatasetArrays({ x: f32([2, 2], [1, 2, 3, 4]), labels: i64([0n, 1n]) });
  assert.equal(summary.rows, 2);
  assert.deepEqual(summary.arrays, [
    { name: "labels", dtype: "int64", shape: [2] },
    { name: "x", dtype: "float32", shape: [2, 2] },
  ]);
});

test("refuses missing labels, lone labels, mismatched rows, bad dtypes and shapes", () => {
  refused({ x: f32([2, 1], [1, 2]) }, /no 'labels'/);
  refused({ labels: i64([0n]) }, /only 'labels'/);
  refused({ x: f32([3, 1], [1, 2, 3]), labels: i64([0n, 1n]) }, /'x' has 3 records but 'labels' has 2/);
  refused({ x: { dtype: "bool", shape: [2], data: new Uint8Array([0, 1]) }, labels: i64([0n, 1n]) }, /dtype bool/);
  refused({ x: { dtype: "float32", shape: [], data: new Uint8Array(4) }, labels: i64([0n]) }, /scalar/);
  refused({ x: f32([2, 0], []), labels: i64([0n, 1n]) }, /positive integer/);
  refused({ x: { dtype: "float32", shape: [2, 2], data: new Uint8Array(12) }, labels: i64([0n, 1n]) }, /needs 16 bytes/);
});

test("NaN and Infinity are refused naming the array and the record, not the value", () => {
  refused({ x: f32([3, 2], [1, 2, 3, Number.NaN, 5, 6]), labels: i64([0n, 1n, 0n]) }, /'x' holds NaN in record 1 /);
  const f64: RawTensor = { dtype: "float64", shape: [2], data: new Uint8Array(Float64Array.from([0, Number.NEGATIVE_INFINITY]).buffer) };
  refused({ x: f32([2, 1], [1, 2]), labels: f64 }, /'labels' holds Infinity in record 1 /);
});

test("unaligned views are read correctly", () => {
  const backing = new Uint8Array(1 + 8);
  backing.set(new Uint8Array(Float32Array.from([1, Number.NaN]).buffer), 1);
  refused({ x: { dtype: "float32", shape: [2], data: backing.subarray(1) }, labels: i64([0n, 1n]) }, /record 1 /);
});
