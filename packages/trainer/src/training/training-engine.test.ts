import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { prepareDataset, type TrainingDataset } from "./dataset.js";
import { createInlineNoise } from "./noise-source.js";
import { createOptimizer } from "./optimizer.js";
import { createSeededRandom, createSecureRandom } from "./random-source.js";
import { FloatArena } from "./simd/float-arena.js";
import { TrainingEngine, trainingArenaBytes, type EngineSettings, type RunGraph } from "./training-engine.js";

// A fake training graph with the contract's inputs and outputs, for a parameter w of length
// `width` whose per-sample gradient is the sample's row x_i: grad:w = sum_i mask_i * c_i * x_i,
// c_i = min(1, C / (|x_i| + 1e-6)) in dp mode (1 otherwise); losses = mask_i * |x_i|^2 / 2.
function fakeGraph(width: number, dp: boolean, log: { batchSizes: number[] }): RunGraph {
  return async (feeds, fetches) => {
    const x = feeds["x"]!.data as Float32Array;
    const mask = feeds["sample_mask"]!.data as Float32Array;
    const C = dp ? (feeds["max_grad_norm"]!.data as Float32Array)[0]! : Infinity;
    assert.ok(feeds["w"] !== undefined, "params are fed as inputs");
    const rows = mask.length;
    assert.equal(x.length, rows * width, "fixed physical shape");
    const grad = new Float32Array(width);
    const losses = new Float32Array(rows);
    let real = 0;
    for (let r = 0; r < rows; r++) {
      if (mask[r] === 0) continue;
      real++;
      let norm = 0;
      for (let j = 0; j < width; j++) norm += x[r * width + j]! ** 2;
      losses[r] = norm / 2;
      const c = Math.min(1, C / (Math.sqrt(norm) + 1e-6));
      for (let j = 0; j < width; j++) grad[j] = grad[j]! + c * x[r * width + j]!;
    }
    log.batchSizes.push(real);
    // Like onnxruntime: a fetched tensor is written in place and returned.
    const into = fetches?.["grad:w"];
    if (into) (into.data as Float32Array).set(grad);
    return {
      losses: new ort.Tensor("float32", losses, [rows]),
      logits: new ort.Tensor("float32", x.slice(), [rows, width]),
      "grad:w": into ?? new ort.Tensor("float32", grad, [width]),
    };
  };
}

function dataset(rows: number[][], labels: number[]): TrainingDataset {
  return {
    inputs: { x: { dtype: "float32", shape: [rows.length, rows[0]!.length], data: Float32Array.from(rows.flat()) } },
    labels: { dtype: "int64", shape: [labels.length], data: BigInt64Array.from(labels.map(BigInt)) },
  };
}

function engine(data: TrainingDataset, width: number, overrides: Partial<EngineSettings>, log = { batchSizes: [] as number[] }) {
  const mode = overrides.mode ?? "dp";
  const arena = new FloatArena(trainingArenaBytes([width], true));
  const w = arena.floats(width);
  const graph = { params: [{ name: "w", shape: [width] }], dataInputs: [{ name: "x", dtype: "float32", shape: ["batch", width] }] };
  const e = new TrainingEngine({
    loss: "cross_entropy",
    graph,
    runStep: fakeGraph(width, mode === "dp", log),
    params: [w],
    arena,
    optimizer: createOptimizer({ kind: "sgd", lr: 1 }, { arena }),
    train: prepareDataset(data, graph.dataInputs, "cross_entropy", "train"),
    mode,
    batchSize: 4,
    physicalBatchSize: 4,
    maxGradNorm: 1,
    samplingRandom: createSeededRandom(1, "sampling"),
    noise: createInlineNoise(createSecureRandom()),
    ...overrides,
  });
  return { e, w, log };
}

const ROWS = [[3, 4], [0.3, 0.4], [-1, 0], [0, 2]];

test("non-private step: w -= lr * mean gradient; padding is masked out", async () => {
  const { e, w, log } = engine(dataset(ROWS, [1, 1, 1, 0]), 2, { mode: "non-private", batchSize: 4, physicalBatchSize: 3 });
  const r = await e.fit({ epochs: 1, noiseMultiplier: 0, stepsPerEpoch: 1 });
  assert.deepEqual(log.batchSizes, [3, 1], "a logical batch of 4 splits into physical batches of 3 and 1");
  assert.ok(Math.abs(w[0]! - -(3 + 0.3 - 1 + 0) / 4) < 1e-6 && Math.abs(w[1]! - -(4 + 0.4 + 0 + 2) / 4) < 1e-6, `w = ${w}`);
  // Per-sample losses |x|^2 / 2 = 12.5, 0.125, 0.5, 2 -> mean 3.78125. Argmax of x is 1, 1, 1, 1 vs labels 1, 1, 1, 0 -> 3 of 4.
  assert.ok(Math.abs(r.epochs[0]!.trainLoss - 3.78125) < 1e-6);
  assert.equal(r.epochs[0]!.trainAccuracy, 0.75);
});

test("dp step with q = 1 and sigma 0: clipped sums over physical batches, divided by q N", async () => {
  const { e, w, log } = engine(dataset(ROWS, [0, 0, 0, 0]), 2, { batchSize: 4, physicalBatchSize: 3 });
  await e.fit({ epochs: 1, noiseMultiplier: 0, stepsPerEpoch: 1 });
  assert.deepEqual(log.batchSizes, [3, 1]);
  // Clipped to norm 1: (0.6, 0.8), (0.3, 0.4), (-1, 0), (0, 1) -> sum (-0.1, 2.2) / 4.
  assert.ok(Math.abs(w[0]! - 0.1 / 4) < 1e-6 && Math.abs(w[1]! - -2.2 / 4) < 1e-6, `w = ${w}`);
});

test("dp noise is N(0, (sigma C)^2) per coordinate, divided by the expected batch size", async () => {
  const width = 40000;
  const zeros = Array.from({ length: 8 }, () => new Array<number>(width).fill(0));
  const { e, w } = engine(dataset(zeros, new Array<number>(8).fill(0)), width, { batchSize: 4, physicalBatchSize: 8, maxGradNorm: 2 });
  await e.fit({ epochs: 1, noiseMultiplier: 1.5, stepsPerEpoch: 1 });
  let mean = 0;
  for (const v of w) mean += v;
  mean /= width;
  let variance = 0;
  for (const v of w) variance += (v - mean) ** 2;
  const std = Math.sqrt(variance / width);
  // Expected std of -lr * noise / (q N) = 1.5 * 2 / 4 = 0.75; standard error ~ 0.75 / sqrt(2 * 40000) ~ 0.003.
  assert.ok(Math.abs(std - 0.75) < 0.015, `std ${std}`);
  assert.ok(Math.abs(mean) < 0.015, `mean ${mean}`);
});

test("dp sampling: batch sizes average q N over many steps; cancellation stops between steps", async () => {
  const rows = Array.from({ length: 200 }, (_, i) => [i % 3, 1]);
  const { e, log } = engine(dataset(rows, new Array<number>(200).fill(0)), 2, { batchSize: 20, physicalBatchSize: 64 });
  const steps: number[] = [];
  await e.fit({ epochs: 30, noiseMultiplier: 0, stepsPerEpoch: 10, onProgress: (p) => p.kind === "step" && steps.push(p.step) });
  assert.equal(steps.length, 300);
  // Steps with an empty sample run no physical batch, so count total records over 300 steps.
  const total = log.batchSizes.reduce((a, b) => a + b, 0);
  // Binomial(200, 0.1) per step: mean 20, std of the 300-step average sqrt(18 / 300) ~ 0.25.
  assert.ok(Math.abs(total / 300 - 20) < 1.25, `mean batch ${total / 300}`);
  let calls = 0;
  const r = await e.fit({ epochs: 5, noiseMultiplier: 0, stepsPerEpoch: 10, shouldStop: () => ++calls > 3 });
  assert.equal(r.cancelled, true);
  assert.equal(r.steps, 3);
});

test("the noise source is required in dp mode and not needed without DP", async () => {
  const data = dataset(ROWS, [1, 1, 1, 0]);
  assert.throws(() => engine(data, 2, { noise: undefined }), RangeError);
  const { e, w } = engine(data, 2, { mode: "non-private", noise: undefined });
  await e.fit({ epochs: 1, noiseMultiplier: 0, stepsPerEpoch: 1 });
  assert.ok(Math.abs(w[0]! - -(3 + 0.3 - 1 + 0) / 4) < 1e-6, `w = ${w}`);
});
