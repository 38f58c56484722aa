import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { TrainerError } from "../trainer-error.js";
import { attr } from "./attributes.js";
import { buildTrainingGraph } from "./build-training-graph.js";
import { tinyModel } from "./testing/tiny-model.js";

const dir = new URL("../../../../fixtures/training/", import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`${name}.onnx`, dir)));

function assertCode(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TrainerError, `expected TrainerError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (pattern !== undefined) assert.match(err.message, pattern);
    return true;
  });
}

describe("buildTrainingGraph refusals", () => {
  it("refuses BatchNormalization and says to use GroupNorm or LayerNorm", () => {
    for (const mode of ["dp", "non-private"] as const) {
      assertCode(() => buildTrainingGraph(fixture("batchnorm"), { loss: "cross_entropy", mode }), "batchnorm", /use GroupNorm or LayerNorm/);
    }
  });

  it("refuses unsupported ops naming the op type and node", () => {
    assertCode(() => buildTrainingGraph(fixture("unsupported"), { loss: "cross_entropy", mode: "dp" }), "unsupported-op", /CumSum.*"\/CumSum"/);
  });

  it("refuses tied weights in dp mode but trains them without DP", () => {
    const model = tinyModel({
      inputs: [{ name: "x", shape: [2, 4] }],
      params: [{ name: "w", shape: [4, 4] }],
      nodes: [
        { op: "MatMul", inputs: ["x", "w"], outputs: ["h"] },
        { op: "Tanh", inputs: ["h"], outputs: ["t"] },
        { op: "MatMul", inputs: ["t", "w"], outputs: ["y"] },
      ],
      output: { name: "y", shape: [2, 4] },
    });
    assertCode(() => buildTrainingGraph(model, { loss: "mse", mode: "dp" }), "unsupported-op", /"w" is used by several nodes/);
    assert.equal(buildTrainingGraph(model, { loss: "mse", mode: "non-private" }).params.length, 1);
  });

  it("needs static sizes for dynamic non-batch axes, and accepts them from options.inputShapes", async () => {
    const model = tinyModel({
      inputs: [{ name: "x", shape: [2, 5, 4], symbolic: true }],
      params: [{ name: "w", shape: [4, 3] }],
      consts: [{ name: "ax", shape: [1], int64: [1] }],
      nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["h"] }, { op: "ReduceMean", inputs: ["h"], outputs: ["y"], attrs: [attr.ints("axes", [1]), attr.int("keepdims", 0)] }],
      output: { name: "y", shape: [2, 3] },
    });
    assertCode(() => buildTrainingGraph(model, { loss: "cross_entropy", mode: "dp" }), "unsupported-op", /dynamic_axes on axis 0 only/);
    const g = buildTrainingGraph(model, { loss: "cross_entropy", mode: "dp", inputShapes: { x: [5, 4] } });
    assert.deepEqual(g.dataInputs, [{ name: "x", dtype: "float32", shape: ["batch", 5, 4] }]);
    assertCode(() => buildTrainingGraph(model, { loss: "cross_entropy", mode: "dp", inputShapes: { x: [5] } }), "invalid-argument", /inputShapes\.x/);
    assertCode(() => buildTrainingGraph(model, { loss: "cross_entropy", mode: "dp", inputShapes: { nope: [5, 4] } }), "invalid-argument", /inputShapes/);
  });

  it("refuses cross-sample operations in dp mode", () => {
    const model = tinyModel({
      inputs: [{ name: "x", shape: [4, 3] }],
      params: [{ name: "w", shape: [3, 3] }],
      nodes: [
        { op: "MatMul", inputs: ["x", "w"], outputs: ["h"] },
        { op: "ReduceMean", inputs: ["h"], outputs: ["mu"], attrs: [attr.ints("axes", [0])] },
        { op: "Sub", inputs: ["h", "mu"], outputs: ["y"] },
      ],
      output: { name: "y", shape: [4, 3] },
    });
    assertCode(() => buildTrainingGraph(model, { loss: "mse", mode: "dp" }), "unsupported-op", /reduces along the batch axis/);
    assert.equal(buildTrainingGraph(model, { loss: "mse", mode: "non-private" }).params.length, 1);
  });

  it("refuses opsets before 13", () => {
    const model = tinyModel({ opset: 11, inputs: [{ name: "x", shape: [2, 4] }], params: [{ name: "w", shape: [4, 2] }], nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["y"] }], output: { name: "y", shape: [2, 2] } });
    assertCode(() => buildTrainingGraph(model, { loss: "mse", mode: "dp" }), "invalid-model", /opset 11/);
  });

  it("validates options", () => {
    const model = fixture("mlp");
    assertCode(() => buildTrainingGraph(model, { loss: "hinge" as never, mode: "dp" }), "invalid-argument", /options\.loss/);
    assertCode(() => buildTrainingGraph(model, { loss: "mse", mode: "private" as never }), "invalid-argument", /options\.mode/);
    assertCode(() => buildTrainingGraph(model, { loss: "mse", mode: "dp", output: "nope" }), "invalid-argument", /options\.output/);
    assertCode(() => buildTrainingGraph(new Uint8Array([1, 2, 3]), { loss: "mse", mode: "dp" }), "invalid-model");
  });

  it("refuses cross_entropy on outputs that are not [batch, classes]", () => {
    const model = tinyModel({ inputs: [{ name: "x", shape: [2, 3, 4] }], params: [{ name: "w", shape: [4, 2] }], nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["y"], attrs: [] }], output: { name: "y", shape: [2, 3, 2] } });
    assertCode(() => buildTrainingGraph(model, { loss: "cross_entropy", mode: "dp" }), "invalid-argument", /cross_entropy/);
  });
});
