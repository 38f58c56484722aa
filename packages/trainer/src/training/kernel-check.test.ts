import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { buildTrainingGraph } from "../autodiff/build-training-graph.js";
import { detectNchwcBlockSize } from "../autodiff/nchwc-block-size.js";
import { readInitializers } from "../onnx/initializers.js";
import { createTrainer } from "./create-trainer.js";
import { KERNEL_AGREEMENT, portableDifference } from "./kernel-check.js";
import type { TrainerOptions } from "./training-types.js";

// Tramer and Boneh's CNN: 16 and 32 channels, so both convs lower to NCHWc blocks of 8 or 16.
const cnn = new Uint8Array(readFileSync(new URL("../../../../fixtures/bench/fmnist_cnn.onnx", import.meta.url)));
const weights = readInitializers(cnn);

describe("NCHWc start-up check (kernel-check.ts)", () => {
  it("finds this machine's lowered graph equal to the portable one, and one lowered to another block not", async () => {
    const block = await detectNchwcBlockSize();
    if (block === undefined) return;
    const other = block === 16 ? 8 : 16;
    for (const mode of ["non-private", "dp"] as const) {
      const build = (b: number | undefined) => buildTrainingGraph(cnn, { loss: "cross_entropy", mode, physicalBatchSize: 32, ...(b === undefined ? {} : { nchwcBlockSize: b }) });
      const portable = build(undefined);
      assert.equal(portable.nchwcBlockSize, undefined);
      const params = portable.params.map((p) => weights.get(p.name)?.data ?? new Float32Array());
      const right = build(block);
      assert.equal(right.nchwcBlockSize, block);
      const same = await portableDifference(right, portable, params, 32);
      assert.ok(same <= 1e-4, `${mode}: block ${block} differs by ${same}`);
      // A graph for another block runs without an error in onnxruntime, with wrong gradients.
      const wrong = await portableDifference(build(other), portable, params, 32);
      assert.ok(wrong > KERNEL_AGREEMENT, `${mode}: block ${other} differs by only ${wrong}`);
    }
  });

  it("makes a trainer run the portable graph, and say why, when the lowered one disagrees", async () => {
    const block = await detectNchwcBlockSize();
    if (block === undefined) return;
    const n = 64;
    const options: TrainerOptions = {
      model: cnn,
      loss: "cross_entropy",
      train: {
        inputs: { image: { dtype: "float32", shape: [n, 1, 28, 28], data: Float32Array.from({ length: n * 784 }, (_, i) => Math.sin(i * 0.37)) } },
        labels: { dtype: "int64", shape: [n], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)) },
      },
      privacy: { mode: "non-private" },
      optimizer: { kind: "sgd", lr: 0.01 },
      batchSize: 32,
      seed: 1,
    };
    const lowered = await createTrainer(options);
    const wrong = await createTrainer({ ...options, nchwcBlockSize: block === 16 ? 8 : 16 });
    const off = await createTrainer({ ...options, nchwcBlockSize: "off" });
    try {
      assert.deepEqual(lowered.kernels, { kind: "nchwc", block });
      assert.equal(wrong.kernels.kind, "portable");
      assert.match(wrong.kernels.kind === "portable" ? wrong.kernels.reason : "", /disagreed with the portable graph/);
      assert.equal(off.kernels.kind, "portable");
      // The fallback trains as the portable trainer does (same seed, same batches).
      const [a, b] = [await wrong.fit({ epochs: 1 }), await off.fit({ epochs: 1 })];
      assert.equal(a.steps, 2);
      const lossA = a.epochs[0]?.trainLoss ?? NaN, lossB = b.epochs[0]?.trainLoss ?? NaN;
      assert.ok(Math.abs(lossA - lossB) <= 1e-6 * Math.abs(lossB), `fallback loss ${lossA}, portable ${lossB}`);
    } finally {
      await Promise.all([lowered.close(), wrong.close(), off.close()]);
    }
  });

  it("refuses a block size that is not a power of two from 4 to 64", async () => {
    await assert.rejects(
      createTrainer({ model: cnn, loss: "cross_entropy", train: { inputs: {}, labels: { dtype: "int64", shape: [1], data: BigInt64Array.of(0n) } }, privacy: { mode: "non-private" }, optimizer: { kind: "sgd", lr: 0.1 }, batchSize: 1, nchwcBlockSize: 12 }),
      (err: { code?: string; message: string }) => err.code === "invalid-argument" && /nchwcBlockSize/.test(err.message),
    );
  });
});
