import { test } from "node:test";
import assert from "node:assert/strict";
import { BatchBuffers, checkLabels, prepareDataset, type TrainingDataset } from "./dataset.js";
import { TrainerError } from "../trainer-error.js";

const SPECS = [{ name: "x", dtype: "float32", shape: ["batch", 3] }];
const good: TrainingDataset = {
  inputs: { x: { dtype: "float64", shape: [2, 3], data: Float64Array.from([1, 2, 3, 4, 5, 6]) } },
  labels: { dtype: "int32", shape: [2], data: Int32Array.from([0, 2]) },
};

function rejects(dataset: TrainingDataset, pattern: RegExp, loss = "cross_entropy"): void {
  assert.throws(() => prepareDataset(dataset, SPECS, loss, "train"), (e: unknown) => e instanceof TrainerError && e.code === "invalid-dataset" && pattern.test(e.message), String(pattern));
}

test("prepareDataset converts float64 inputs and integer labels to the graph's dtypes", () => {
  const p = prepareDataset(good, SPECS, "cross_entropy", "train");
  assert.equal(p.size, 2);
  assert.ok(p.inputs[0]!.data instanceof Float32Array);
  assert.deepEqual(Array.from(p.labels.data as BigInt64Array), [0n, 2n]);
  checkLabels(p, "cross_entropy", [3], "train");
  assert.throws(() => checkLabels(p, "cross_entropy", [2], "train"), (e: unknown) => e instanceof TrainerError && e.code === "invalid-dataset" && /some labels are outside \[0, 1\]/.test(e.message));
});

test("prepareDataset names what is wrong", () => {
  rejects({ ...good, inputs: {} }, /missing array 'x'/);
  rejects({ ...good, inputs: { ...good.inputs, y: good.inputs["x"]! } }, /array 'y' is not a model input/);
  rejects({ ...good, inputs: { x: { dtype: "float32", shape: [2, 4], data: new Float32Array(8) } } }, /shape \[2, 4\] but the model input needs \[batch, 3\]/);
  rejects({ ...good, inputs: { x: { dtype: "float32", shape: [3, 3], data: new Float32Array(9) } } }, /has 3 records but 'labels' has 2/);
  rejects({ ...good, inputs: { x: { dtype: "int32", shape: [2, 3], data: new Int32Array(6) } } }, /dtype int32 but the model input needs float32/);
  rejects({ ...good, labels: { dtype: "float32", shape: [2], data: new Float32Array(2) } }, /integer class ids/);
  rejects({ ...good, labels: { dtype: "int64", shape: [2, 1], data: new BigInt64Array(2) } }, /shape \[N\]/);
  rejects({ ...good, labels: { dtype: "int64", shape: [2], data: new BigInt64Array(2) } }, /dtype int64/, "mse");
  const p = prepareDataset({ ...good, labels: { dtype: "float32", shape: [2, 2], data: new Float32Array(4) } }, SPECS, "mse", "train");
  assert.throws(() => checkLabels(p, "mse", [3], "train"), /rows have shape \[2\] but the model output rows have shape \[3\]/);
});

test("BatchBuffers pads with copies of the first record and masks the padding", () => {
  const p = prepareDataset(good, SPECS, "cross_entropy", "train");
  const b = new BatchBuffers(p, 3);
  b.fill(p, [1]);
  assert.deepEqual(Array.from(b.inputs[0] as Float32Array), [4, 5, 6, 4, 5, 6, 4, 5, 6]);
  assert.deepEqual(Array.from(b.mask), [1, 0, 0]);
  assert.deepEqual(Array.from(b.labels as BigInt64Array), [2n, 2n, 2n]);
  assert.throws(() => b.fill(p, [0, 1, 0, 1]), RangeError);
});
