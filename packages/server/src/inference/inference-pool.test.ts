import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createInferencePool } from "./inference-pool.js";
import { fixtureBytes } from "../test-support/fixtures.js";
import { toWorkerTensor } from "./wire-tensor.js";
import { ServerError } from "../server-error.js";

describe("inference pool", () => {
  it("reads a model's signature, runs it lazily loaded, and refuses bytes that are not ONNX", async () => {
    const mlp = fixtureBytes("mlp.onnx");
    let loads = 0;
    const pool = createInferencePool({
      workers: 2,
      intraOpThreads: 1,
      maxLoadedModels: 1,
      loadModelBytes: async () => {
        loads++;
        return Buffer.from(mlp); // the pool zeroes what it is given
      },
    });
    try {
      const sig = await pool.inspect(mlp);
      assert.deepEqual(sig.inputs, [{ name: "x", dtype: "float32", shape: ["batch", 16] }]);
      assert.deepEqual(sig.outputs, [{ name: "logits", dtype: "float32", shape: ["batch", 4] }]);
      await assert.rejects(pool.inspect(Buffer.from("nope")), (e: unknown) => e instanceof ServerError && e.code === "invalid-argument" && /not a valid ONNX model/.test(e.message));
      const run = () => pool.run("m1", { x: toWorkerTensor("float32", [2, 16], new Uint8Array(2 * 16 * 4)) }, ["logits"]);
      const out = await run();
      assert.deepEqual(out["logits"]!.dims, [2, 4]);
      assert.equal(out["logits"]!.buffer.byteLength, 2 * 4 * 4);
      await run();
      assert.ok(loads >= 1 && loads <= 2, `loaded ${loads} times (once per worker at most)`);
      // Over maxLoadedModels, the least recently used model of a worker is released and reloaded on demand.
      await pool.run("m2", { x: toWorkerTensor("float32", [1, 16], new Uint8Array(64)) }, ["logits"]);
      await pool.unload("m1");
      await run();
    } finally {
      await pool.close();
    }
  });
});
