// Headline benchmark: DP-SGD on Fashion-MNIST with Tramer & Boneh (2021)'s end-to-end CNN
// (fixtures/bench/fmnist_cnn.onnx) at (epsilon 3, delta 1e-5).
// Usage: node bench/trainer/fmnist-dp.mjs [--epochs 40] [--batch 2048] [--lr 4] [--momentum 0.9]
//        [--clip 0.1] [--epsilon 3] [--max-batch 512] [--threads 2] [--optimizer sgd] [--limit N]
// Prints one JSON line per epoch and a final summary line.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createTrainer } from "../../packages/trainer/dist/index.js";
import { loadFashionMnist } from "./fashion-mnist.mjs";

const { values: a } = parseArgs({
  options: {
    epochs: { type: "string", default: "40" },
    batch: { type: "string", default: "2048" },
    lr: { type: "string", default: "4" },
    momentum: { type: "string", default: "0.9" },
    clip: { type: "string", default: "0.1" },
    epsilon: { type: "string", default: "3" },
    delta: { type: "string", default: "1e-5" },
    "max-batch": { type: "string", default: "512" },
    threads: { type: "string", default: "2" },
    optimizer: { type: "string", default: "sgd" },
    limit: { type: "string" },
  },
});
const config = {
  epochs: Number(a.epochs), batchSize: Number(a.batch), lr: Number(a.lr), momentum: Number(a.momentum),
  maxGradNorm: Number(a.clip), targetEpsilon: Number(a.epsilon), delta: Number(a.delta),
  maxBatchSize: Number(a["max-batch"]), threads: Number(a.threads), optimizer: a.optimizer,
};
const { train, test } = loadFashionMnist(a.limit === undefined ? undefined : Number(a.limit));
const started = performance.now();
const trainer = await createTrainer({
  model: new Uint8Array(readFileSync(new URL("../../fixtures/bench/fmnist_cnn.onnx", import.meta.url))),
  loss: "cross_entropy",
  train,
  privacy: { mode: "dp", maxGradNorm: config.maxGradNorm, targetEpsilon: config.targetEpsilon, delta: config.delta },
  optimizer: config.optimizer === "sgd" ? { kind: "sgd", lr: config.lr, momentum: config.momentum } : { kind: config.optimizer, lr: config.lr },
  batchSize: config.batchSize,
  maxBatchSize: config.maxBatchSize,
  intraOpThreads: config.threads,
});
const plan = await trainer.plan(config.epochs);
console.log(JSON.stringify({ config, plan }));
const result = await trainer.fit({
  epochs: config.epochs,
  test,
  onProgress: (e) => {
    if (e.kind === "epoch") console.log(JSON.stringify(e.metrics));
  },
});
await trainer.close();
const last = result.epochs[result.epochs.length - 1];
console.log(JSON.stringify({
  summary: true, testAccuracy: last.testAccuracy, epsilon: result.privacy.epsilon, delta: result.privacy.delta,
  noiseMultiplier: result.privacy.noiseMultiplier, steps: result.steps,
  trainingSeconds: result.durationMs / 1000, totalSeconds: (performance.now() - started) / 1000,
  maxRssMiB: process.resourceUsage().maxRSS / 1024, kernels: trainer.kernels,
}));
