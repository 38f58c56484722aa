// Step-time benchmark of the trainer at batch 256 (issue 5): forward (inference graph),
// non-private training step and DP training step (graph run + noise + optimizer update, as the
// trainer does them: noise drawn on a second thread while the graph runs), and
// peak RSS, for fixtures/bench/{mlp784,fmnist_cnn,transformer2}.onnx.
// Usage: node bench/trainer/step-bench.mjs [--threads 1] [--runs 20] [--warmup 10] [--rounds 1] [--batch 256] [--models a,b]
// Each (model, mode) runs in its own child process so its peak RSS is its own.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { inputsFor } from "./bench-inputs.mjs";

const { values: a } = parseArgs({
  options: {
    threads: { type: "string", default: "1" },
    runs: { type: "string", default: "20" },
    // Steady state: the first runs pay onnxruntime's arena growth and V8's compilation.
    warmup: { type: "string", default: "10" },
    rounds: { type: "string", default: "1" },
    batch: { type: "string", default: "256" },
    models: { type: "string", default: "mlp784,fmnist_cnn,transformer2" },
    child: { type: "string" },
    mode: { type: "string" },
  },
});
const threads = Number(a.threads);
const runs = Number(a.runs);
const batch = Number(a.batch);
const warmup = Number(a.warmup);

async function timeIt(fn) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}

async function child(model, mode) {
  const trainer = await import("../../packages/trainer/dist/index.js");
  const { createPrefetchedNoise } = await import("../../packages/trainer/dist/training/noise-source.js");
  const { FloatArena } = await import("../../packages/trainer/dist/training/simd/float-arena.js");
  const { trainingArenaBytes } = await import("../../packages/trainer/dist/training/training-engine.js");
  const bytes = new Uint8Array(readFileSync(new URL(`../../fixtures/bench/${model}.onnx`, import.meta.url)));
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential" };
  const { feeds, labels } = inputsFor(model, batch);
  let ms;
  if (mode === "forward") {
    const session = await ort.InferenceSession.create(bytes, opts);
    ms = await timeIt(() => session.run(feeds));
  } else {
    // "dp-graph": the DP graph (clipping included) without the noise, to split the DP overhead
    // between the graph (per-sample norms) and the noise.
    const graphMode = mode === "non-private" ? "non-private" : "dp";
    const nchwcBlockSize = await trainer.detectNchwcBlockSize();
    const graph = trainer.buildTrainingGraph(bytes, { loss: "cross_entropy", mode: graphMode, physicalBatchSize: batch, ...(nchwcBlockSize === undefined ? {} : { nchwcBlockSize }) });
    const init = trainer.readInitializers(bytes);
    // As the trainer lays them out: parameters, gradient sums and optimizer state in one
    // WebAssembly arena; onnxruntime writes the gradients into it; SIMD kernels update in place.
    const lengths = graph.params.map((p) => init.get(p.name).data.length);
    const arena = new FloatArena(trainingArenaBytes(lengths, mode === "dp"));
    const params = graph.params.map((p, k) => {
      const v = arena.floats(lengths[k]);
      v.set(init.get(p.name).data);
      return v;
    });
    const grads = lengths.map((n) => arena.floats(n));
    const all = { ...feeds, labels, sample_mask: new ort.Tensor("float32", new Float32Array(batch).fill(1), [batch]) };
    if (graphMode === "dp") all.max_grad_norm = new ort.Tensor("float32", Float32Array.of(1), []);
    graph.params.forEach((p, k) => (all[p.name] = new ort.Tensor("float32", params[k], [...p.shape])));
    const fetches = { losses: null, logits: null };
    graph.params.forEach((p, k) => (fetches[`grad:${p.name}`] = new ort.Tensor("float32", grads[k], [...p.shape])));
    const session = await ort.InferenceSession.create(graph.model, opts);
    const optimizer = trainer.createOptimizer({ kind: "sgd", lr: 1e-3, momentum: 0.9 }, { arena });
    // The trainer's noise path: standard normals drawn on another thread during the graph run.
    const noise = mode === "dp" ? createPrefetchedNoise(params.reduce((n, p) => n + p.length, 0), undefined, arena) : undefined;
    ms = await timeIt(async () => {
      await session.run(all, fetches);
      if (noise !== undefined) {
        noise.addTo(grads, 1, 1 / batch);
        optimizer.step(params, grads);
      } else {
        optimizer.step(params, grads, 1 / batch);
      }
    });
    await noise?.close();
  }
  console.log(JSON.stringify({ model, mode, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

if (a.child !== undefined) {
  await child(a.child, a.mode);
} else {
  const self = fileURLToPath(import.meta.url);
  const rounds = Number(a.rounds);
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const rows = [];
  for (const model of a.models.split(",")) {
    // Rounds interleave the modes in time, so that the shared machine's load drifts over all
    // of them alike; each figure is the median over rounds of each child's median.
    const perRound = [];
    for (let round = 0; round < rounds; round++) {
      const r = {};
      for (const mode of ["forward", "non-private", "dp-graph", "dp"]) {
        const out = execFileSync(process.execPath, [self, "--child", model, "--mode", mode, "--threads", a.threads, "--runs", a.runs, "--batch", a.batch, "--warmup", a.warmup], { encoding: "utf8" });
        r[mode] = JSON.parse(out.trim().split("\n").pop());
      }
      perRound.push(r);
      console.log(JSON.stringify(r));
    }
    const pick = (mode, key) => median(perRound.map((r) => r[mode][key]));
    rows.push({
      model,
      ...Object.fromEntries(["forward", "non-private", "dp-graph", "dp"].map((mode) => [mode, { ms: pick(mode, "ms"), maxRssMiB: Math.max(...perRound.map((r) => r[mode].maxRssMiB)) }])),
      dpRatios: perRound.map((r) => r.dp.ms / r["non-private"].ms),
      npRatios: perRound.map((r) => r["non-private"].ms / r.forward.ms),
    });
  }
  const range = (xs) => (xs.length === 1 ? "" : ` (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`);
  console.log(`\nbatch ${batch}, ${threads} onnxruntime thread(s), ${rounds} round(s), each a median of ${runs} runs after ${warmup} warm-up runs\n`);
  console.log("| model | forward ms | non-private step ms | DP step ms (graph only) | DP / non-private | non-private / forward | peak RSS MiB (fwd / np / dp) |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const f = r.forward.ms, n = r["non-private"].ms, g = r["dp-graph"].ms, d = r.dp.ms;
    console.log(`| ${r.model} | ${f.toFixed(1)} | ${n.toFixed(1)} | ${d.toFixed(1)} (${g.toFixed(1)}) | ${median(r.dpRatios).toFixed(2)}${range(r.dpRatios)} | ${median(r.npRatios).toFixed(2)}${range(r.npRatios)} | ${r.forward.maxRssMiB.toFixed(0)} / ${r["non-private"].maxRssMiB.toFixed(0)} / ${r.dp.maxRssMiB.toFixed(0)} |`);
  }
}
