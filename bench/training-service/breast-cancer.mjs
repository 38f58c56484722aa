#!/usr/bin/env node
// Remote DP training end to end (issue 6): a simulation server on a loopback port, the
// breast cancer training split uploaded as a dataset, `runs` remote runs of
// breast_cancer_mlp.onnx at the given epsilon through the SDK, each deployed and queried on
// the test split. Prints accuracy and wall time per run (admission, training, noised metrics,
// settlement, deploy and the query included).
//   node bench/training-service/breast-cancer.mjs [runs=8] [epsilon=1] [epochs=10] [batch=128] [data=breast_cancer]
// (data=digits trains digits_mlp.onnx on sklearn's digits, 1437 rows, 10 classes, instead.)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, decodeNpz } from "@sanctum/client";
import { generateIdentity } from "@sanctum/protocol";
import { createSanctumServer } from "@sanctum/server";

const [runs = 8, epsilon = 1, epochs = 10, batch = 128] = process.argv.slice(2, 6).map(Number);
const data = process.argv[6] ?? "breast_cancer";
const root = fileURLToPath(new URL("../../fixtures/", import.meta.url));
const train = decodeNpz(new Uint8Array(readFileSync(join(root, `datasets/${data}.train.npz`))));
const test = decodeNpz(new Uint8Array(readFileSync(join(root, `datasets/${data}.test.npz`))));
const model = readFileSync(join(root, `training/${data === "digits" ? "digits" : "breast_cancer"}_mlp.onnx`));
const dir = mkdtempSync(join(tmpdir(), "sanctum-bench-training-"));
const server = await createSanctumServer({ platform: "simulation", port: 0, dataDir: dir, logLevel: "silent" });
const client = await connect(server.url, { identity: generateIdentity(), allowSimulation: true });
try {
  const dataset = await client.datasets.upload(train, { name: "bc", epsilon: 100 });
  const rows = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const run = await client.training.start({ model, datasets: [dataset.id], loss: "cross_entropy", epochs, epsilon, batchSize: batch, optimizer: { kind: "adam", learningRate: 0.05 }, deploy: { name: `bc-${i}` } });
    const done = await client.training.watch(run.id);
    const ms = performance.now() - t0;
    const logits = (await client.models.predict(done.modelId, { x: test.x })).outputs.logits.data;
    const y = test.labels.data;
    let correct = 0;
    const classes = logits.length / y.length;
    for (let k = 0; k < y.length; k++) {
      let best = 0;
      for (let j = 1; j < classes; j++) if (logits[k * classes + j] > logits[k * classes + best]) best = j;
      if (BigInt(best) === y[k]) correct++;
    }
    rows.push({ accuracy: correct / y.length, ms, sigma: done.privacy.noiseMultiplier, steps: done.stepsDone, epsilon: done.privacy.epsilon });
  }
  const acc = rows.map((r) => r.accuracy).sort((a, b) => a - b);
  const ms = rows.map((r) => r.ms).sort((a, b) => a - b);
  console.log(`${data}: epsilon ${rows[0].epsilon.toFixed(3)} (target ${epsilon}), sigma ${rows[0].sigma.toFixed(3)}, ${rows[0].steps} steps, ${runs} runs`);
  console.log(`test accuracy min ${acc[0].toFixed(3)} median ${acc[Math.floor(runs / 2)].toFixed(3)} max ${acc.at(-1).toFixed(3)}`);
  console.log(`wall time per run (start to final event) min ${ms[0].toFixed(0)} ms median ${ms[Math.floor(runs / 2)].toFixed(0)} ms max ${ms.at(-1).toFixed(0)} ms`);
} finally {
  client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
