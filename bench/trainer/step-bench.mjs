// Step-time benchmark of the trainer at batch 256 (issue 5): forward (inference graph),
// non-private training step and DP training step (graph run + noise + optimizer update, as the
// trainer does them: noise drawn on a second thread while the graph runs), and
// peak RSS, for fixtures/bench/{mlp784,fmnist_cnn,transformer2}.onnx.
// Usage: node bench/trainer/step-bench.mjs [--threads 1] [--runs 20] [--warmup 10] [--rounds 5] [--batch 256] [--models a,b]
// Times: all modes of a model in one process, cycled in `rounds` blocks (see interleaved()).
// Peak RSS: each (model, mode) in its own child process, so that its peak is its own.
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
    rounds: { type: "string", default: "5" },
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
  return median(times);
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

/** One step of `mode` as the trainer runs it, ready to time; `close` ends its noise thread. */
async function setup(model, mode) {
  const trainer = await import("../../packages/trainer/dist/index.js");
  const { createPrefetchedNoise } = await import("../../packages/trainer/dist/training/noise-source.js");
  const { FloatArena } = await import("../../packages/trainer/dist/training/simd/float-arena.js");
  const { trainingArenaBytes } = await import("../../packages/trainer/dist/training/training-engine.js");
  const bytes = new Uint8Array(readFileSync(new URL(`../../fixtures/bench/${model}.onnx`, import.meta.url)));
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential" };
  const { feeds, labels } = inputsFor(model, batch);
  if (mode === "forward") {
    const session = await ort.InferenceSession.create(bytes, opts);
    return { step: () => session.run(feeds), close: async () => {} };
  }
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
  return {
    step: async () => {
      await session.run(all, fetches);
      if (noise !== undefined) {
        noise.addTo(grads, 1, 1 / batch);
        optimizer.step(params, grads);
      } else {
        optimizer.step(params, grads, 1 / batch);
      }
    },
    close: async () => noise?.close(),
  };
}

const MODES = ["forward", "non-private", "dp-graph", "dp"];

/** Peak RSS of one mode alone (its own process) and its median step time there. */
async function child(model, mode) {
  const { step, close } = await setup(model, mode);
  const ms = await timeIt(step);
  await close();
  console.log(JSON.stringify({ model, mode, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

/**
 * Step times of all modes in one process, in blocks of `runs` / `rounds` runs cycling through
 * the modes, so that the shared machine's speed drift (10-20 % between minutes) falls on all of
 * them alike and the ratios compare like with like. Each block starts with one untimed run (the
 * previous block's noise refill may still be finishing).
 */
async function interleaved(model) {
  const steps = {};
  for (const mode of MODES) steps[mode] = await setup(model, mode);
  for (const mode of MODES) for (let i = 0; i < warmup; i++) await steps[mode].step();
  const times = Object.fromEntries(MODES.map((m) => [m, []]));
  const cycles = Number(a.rounds);
  const perBlock = Math.max(1, Math.round(runs / cycles));
  const ratios = { dp: [], np: [] };
  for (let c = 0; c < cycles; c++) {
    const block = {};
    for (const mode of MODES) {
      await steps[mode].step();
      const ts = [];
      for (let i = 0; i < perBlock; i++) {
        const t = performance.now();
        await steps[mode].step();
        ts.push(performance.now() - t);
      }
      times[mode].push(...ts);
      block[mode] = median(ts);
    }
    ratios.dp.push(block.dp / block["non-private"]);
    ratios.np.push(block["non-private"] / block.forward);
  }
  for (const mode of MODES) await steps[mode].close();
  console.log(JSON.stringify({ model, ms: Object.fromEntries(MODES.map((m) => [m, median(times[m])])), ratios }));
}

if (a.child !== undefined) {
  if (a.mode === "interleaved") await interleaved(a.child);
  else await child(a.child, a.mode);
} else {
  const self = fileURLToPath(import.meta.url);
  const run = (model, mode, runs) => {
    const out = execFileSync(process.execPath, [self, "--child", model, "--mode", mode, "--threads", a.threads, "--runs", String(runs), "--batch", a.batch, "--warmup", a.warmup, "--rounds", a.rounds], { encoding: "utf8" });
    return JSON.parse(out.trim().split("\n").pop());
  };
  const rows = [];
  for (const model of a.models.split(",")) {
    const timed = run(model, "interleaved", runs);
    console.log(JSON.stringify(timed));
    // Peak RSS needs one process per mode (a few runs reach it).
    const rss = Object.fromEntries(MODES.map((mode) => [mode, run(model, mode, 5).maxRssMiB]));
    rows.push({ model, ...timed, rss });
  }
  const range = (xs) => (xs.length === 1 ? "" : ` (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`);
  console.log(`\nbatch ${batch}, ${threads} onnxruntime thread(s); medians of ${runs} runs per mode after ${warmup} warm-up runs, in one process, the modes cycled in ${a.rounds} blocks (ratio ranges: per block)\n`);
  console.log("| model | forward ms | non-private step ms | DP step ms (graph only) | DP / non-private | non-private / forward | peak RSS MiB (fwd / np / dp) |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const f = r.ms.forward, n = r.ms["non-private"], g = r.ms["dp-graph"], d = r.ms.dp;
    console.log(`| ${r.model} | ${f.toFixed(1)} | ${n.toFixed(1)} | ${d.toFixed(1)} (${g.toFixed(1)}) | ${(d / n).toFixed(2)}${range(r.ratios.dp)} | ${(n / f).toFixed(2)}${range(r.ratios.np)} | ${r.rss.forward.toFixed(0)} / ${r.rss["non-private"].toFixed(0)} / ${r.rss.dp.toFixed(0)} |`);
  }
}
