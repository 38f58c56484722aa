import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { computeGradients } from "./compute-gradients.js";
import { createTrainer } from "./create-trainer.js";
import { readInitializers } from "../onnx/initializers.js";
import { decodeNpz } from "./npz.js";
import type { TrainingDataset } from "./dataset.js";
import type { TrainerOptions } from "./training-types.js";
import { TrainerError } from "../trainer-error.js";

const fixtures = new URL("../../../../fixtures/", import.meta.url);
const read = (path: string) => new Uint8Array(readFileSync(new URL(path, fixtures)));

function dataset(path: string): TrainingDataset {
  const arrays = decodeNpz(read(path));
  const labels = arrays.get("labels")!;
  arrays.delete("labels");
  return { inputs: Object.fromEntries(arrays), labels };
}

const digitsTrain = dataset("datasets/digits.train.npz");
const digitsTest = dataset("datasets/digits.test.npz");
const digitsModel = read("training/digits_mlp.onnx");
const digitsOptions: TrainerOptions = {
  model: digitsModel,
  loss: "cross_entropy",
  train: digitsTrain,
  privacy: { mode: "dp", maxGradNorm: 1, targetEpsilon: 3, delta: 1e-5 },
  optimizer: { kind: "sgd", lr: 0.2, momentum: 0.9 },
  batchSize: 128,
  seed: 5,
};

test("DP-SGD on digits reaches a sensible test accuracy at epsilon 3; the exported model loads and changed", async () => {
  const trainer = await createTrainer(digitsOptions);
  try {
    const plan = await trainer.plan(15);
    assert.equal(plan.steps, 15 * Math.round(1438 / 128));
    const events: string[] = [];
    const result = await trainer.fit({ epochs: 15, test: digitsTest, onProgress: (e) => events.push(e.kind) });
    assert.equal(result.cancelled, false);
    assert.equal(result.steps, plan.steps);
    assert.equal(events.filter((k) => k === "step").length, plan.steps);
    assert.equal(events.filter((k) => k === "epoch").length, 15);
    assert.equal(result.privacy.mode, "dp");
    if (result.privacy.mode !== "dp") return;
    assert.ok(result.privacy.epsilon <= 3 && result.privacy.epsilon > 2.9, `epsilon ${result.privacy.epsilon}`);
    assert.equal(result.privacy.noiseMultiplier, plan.noiseMultiplier);
    const last = result.epochs[14]!;
    // Typical runs reach ~0.9; chance is 0.1. The threshold leaves room for the secure noise.
    assert.ok(last.testAccuracy! >= 0.8, `test accuracy ${last.testAccuracy}`);
    const evaluation = await trainer.evaluate(digitsTest);
    assert.equal(evaluation.count, 359);
    assert.ok(Math.abs(evaluation.accuracy! - last.testAccuracy!) < 1e-12, "evaluate agrees with the last epoch's metrics");

    const exported = await trainer.exportModel();
    const before = await ort.InferenceSession.create(digitsModel);
    const after = await ort.InferenceSession.create(exported);
    assert.deepEqual([...after.inputNames], [...before.inputNames]);
    assert.deepEqual([...after.outputNames], [...before.outputNames]);
    const x = digitsTest.inputs["x"]!;
    const feed = { x: new ort.Tensor("float32", (x.data as Float32Array).slice(0, 8 * 64), [8, 64]) };
    const a = (await before.run(feed))["logits"]!.data as Float32Array;
    const b = (await after.run(feed))["logits"]!.data as Float32Array;
    assert.equal(b.length, a.length);
    assert.ok(a.some((v, i) => Math.abs(v - b[i]!) > 1e-3), "outputs changed");
    const params = await trainer.parameters();
    assert.deepEqual([...params.keys()], trainer.params.map((p) => p.name));
    await before.release();
    await after.release();
  } finally {
    await trainer.close();
  }
});

test("a seed makes sampling reproducible but not the noise, unless insecureReproducibleNoise", async () => {
  const run = async (extra: Partial<TrainerOptions>) => {
    const trainer = await createTrainer({ ...digitsOptions, privacy: { mode: "dp", maxGradNorm: 1, noiseMultiplier: 1 }, ...extra });
    await trainer.fit({ epochs: 1 });
    const p = (await trainer.parameters()).get("fc2.bias")!;
    await trainer.close();
    return Array.from(p);
  };
  const insecureA = await run({ seed: 11, insecureReproducibleNoise: true });
  const insecureB = await run({ seed: 11, insecureReproducibleNoise: true });
  assert.deepEqual(insecureA, insecureB);
  const secureA = await run({ seed: 11 });
  const secureB = await run({ seed: 11 });
  assert.notDeepEqual(secureA, secureB);
});

test("non-private training on breast cancer learns; fits compose in the privacy report", async () => {
  const trainer = await createTrainer({
    model: read("training/breast_cancer_mlp.onnx"),
    loss: "cross_entropy",
    train: dataset("datasets/breast_cancer.train.npz"),
    privacy: { mode: "non-private" },
    optimizer: { kind: "adam", lr: 0.01 },
    batchSize: 32,
  });
  const result = await trainer.fit({ epochs: 5, test: dataset("datasets/breast_cancer.test.npz") });
  assert.deepEqual(result.privacy, { mode: "non-private" });
  assert.ok(result.epochs[4]!.testAccuracy! >= 0.9, `test accuracy ${result.epochs[4]!.testAccuracy}`);
  await trainer.close();
  await assert.rejects(trainer.fit({ epochs: 1 }), (e: unknown) => e instanceof TrainerError && e.code === "cancelled");
});

test("fit stops after the current step when its signal aborts; the steps taken are accounted", async () => {
  const trainer = await createTrainer({ ...digitsOptions, privacy: { mode: "dp", maxGradNorm: 1, noiseMultiplier: 1 } });
  const controller = new AbortController();
  let steps = 0;
  const result = await trainer.fit({ epochs: 50, signal: controller.signal, onProgress: (e) => e.kind === "step" && ++steps === 3 && controller.abort() });
  assert.equal(result.cancelled, true);
  assert.ok(result.steps >= 3 && result.steps < 50 * 11, `steps ${result.steps}`);
  assert.equal(result.privacy.mode === "dp" ? result.privacy.history[0]!.steps : -1, result.steps);
  await trainer.close();
});

test("createTrainer reports bad models, data and options by code", async () => {
  const code = (c: string, pattern?: RegExp) => (e: unknown) => e instanceof TrainerError && e.code === c && (pattern === undefined || pattern.test(e.message));
  await assert.rejects(createTrainer({ ...digitsOptions, model: read("training/batchnorm.onnx") }), code("batchnorm", /GroupNorm or LayerNorm/));
  await assert.rejects(createTrainer({ ...digitsOptions, batchSize: 5000 }), code("invalid-argument", /batchSize must be at most the number of training records \(1438\)/));
  await assert.rejects(createTrainer({ ...digitsOptions, privacy: { mode: "dp", maxGradNorm: 0, noiseMultiplier: 1 } }), code("invalid-argument", /maxGradNorm must be a number in \(0, inf\)/));
  await assert.rejects(createTrainer({ ...digitsOptions, train: digitsTest, insecureReproducibleNoise: true, seed: undefined }), code("invalid-argument", /insecureReproducibleNoise needs a seed/));
  const badLabels = BigInt64Array.from(digitsTrain.labels.data as BigInt64Array);
  badLabels[3] = -1n;
  await assert.rejects(
    createTrainer({ ...digitsOptions, train: { ...digitsTrain, labels: { dtype: "int64", shape: digitsTrain.labels.shape, data: badLabels } } }),
    code("invalid-dataset", /some labels are outside \[0, 9\] \(the model has 10 classes\)/),
  );
  await assert.rejects(createTrainer({ ...digitsOptions, optimizer: { kind: "sgd", lr: -1 } }), (e: unknown) => e instanceof RangeError && /lr must be > 0/.test((e as Error).message));
});

for (const [name, loss] of [["regressor", "mse"], ["binary", "bce_with_logits"]] as const) {
  test(`${loss}: evaluate's loss equals the training graph's per-sample losses; training lowers it`, async () => {
    const model = read(`training/${name}.onnx`);
    const batch = dataset(`training/${name}.batch.npz`);
    const trainer = await createTrainer({ model, loss, train: batch, privacy: { mode: "non-private" }, optimizer: { kind: "adam", lr: 0.01 }, batchSize: 8 });
    try {
      const before = await trainer.evaluate(batch);
      const graph = await computeGradients({ model, batch, loss });
      const mean = graph.losses.reduce((a, b) => a + b, 0) / graph.losses.length;
      assert.ok(Math.abs(before.loss - mean) <= 1e-5 * Math.max(1, mean), `${before.loss} vs ${mean}`);
      assert.equal(before.accuracy === undefined, loss === "mse", "accuracy only for classification");
      await trainer.fit({ epochs: 20 });
      const after = await trainer.evaluate(batch);
      assert.ok(after.loss < before.loss, `${after.loss} < ${before.loss}`);
    } finally {
      await trainer.close();
    }
  });
}

test("frozen parameters are not trained and keep their values in the export", async () => {
  const trainer = await createTrainer({ ...digitsOptions, frozen: ["fc1."], privacy: { mode: "dp", maxGradNorm: 1, noiseMultiplier: 1 } });
  try {
    assert.deepEqual(trainer.params.map((p) => p.name), ["fc2.weight", "fc2.bias"]);
    await trainer.fit({ epochs: 1 });
    const original = readInitializers(digitsModel);
    const trained = readInitializers(await trainer.exportModel());
    assert.deepEqual(trained.get("fc1.weight")!.data, original.get("fc1.weight")!.data);
    assert.notDeepEqual(trained.get("fc2.weight")!.data, original.get("fc2.weight")!.data);
  } finally {
    await trainer.close();
  }
});
