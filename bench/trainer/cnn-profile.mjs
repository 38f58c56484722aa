// Graph-only timing and per-node profile of the training graphs (autodiff helper's tool).
// Times session.run alone (no optimizer, no noise): best and median of N runs after warm-up,
// for forward, non-private and dp graphs, at the same thread count; with --profile, runs
// onnxruntime's profiler and prints the nodes that take the most time.
// Usage: node bench/trainer/cnn-profile.mjs [--models fmnist_cnn] [--threads 1] [--runs 30]
//        [--batch 256] [--modes forward,non-private,dp] [--profile] [--top 25]
//        [--opt all|extended|basic] (graph optimization level of the training graphs)
//        [--spin 1|0] (session.intra_op.allow_spinning)
//        [--nchwc auto|off|N] (NCHWc block size passed to buildTrainingGraph; auto = detected)
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { inputsFor } from "./bench-inputs.mjs";

const { values: a } = parseArgs({
  options: {
    models: { type: "string", default: "fmnist_cnn" },
    modes: { type: "string", default: "forward,non-private,dp" },
    threads: { type: "string", default: "1" },
    runs: { type: "string", default: "30" },
    batch: { type: "string", default: "256" },
    profile: { type: "boolean", default: false },
    top: { type: "string", default: "25" },
    opt: { type: "string", default: "all" },
    spin: { type: "string", default: "1" },
    nchwc: { type: "string", default: "auto" },
  },
});
const batch = Number(a.batch), runs = Number(a.runs), threads = Number(a.threads);
const trainer = await import("../../packages/trainer/dist/index.js");
const { detectNchwcBlockSize } = await import("../../packages/trainer/dist/autodiff/nchwc-block-size.js");
const nchwcBlockSize = a.nchwc === "off" ? undefined : a.nchwc === "auto" ? await detectNchwcBlockSize() : Number(a.nchwc);
console.log(`nchwc block size: ${nchwcBlockSize ?? "off"}`);

async function session(bytes, profile, mode) {
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: mode === "forward" ? "all" : a.opt, executionMode: "sequential", enableProfiling: profile, profileFilePrefix: "/tmp/cnn-profile", extra: { session: { intra_op: { allow_spinning: a.spin } } } };
  return ort.InferenceSession.create(bytes, opts);
}

async function time(s, feeds) {
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    t.push(performance.now() - t0);
  }
  t.sort((x, y) => x - y);
  return { best: t[0], median: t[Math.floor(t.length / 2)] };
}

// Per node, the median of its kernel times over the profiled runs (warm-up runs included, but
// the median ignores the first, cold run, which pays the memory arena's growth).
function summarize(file) {
  const events = JSON.parse(readFileSync(file, "utf8")).filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"));
  const byNode = new Map();
  for (const e of events) {
    const k = `${e.args.op_name} ${e.name.replace(/_kernel_time$/, "")}`;
    const list = byNode.get(k) ?? [];
    list.push(e.dur);
    byNode.set(k, list);
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const perNode = new Map([...byNode].map(([k, v]) => [k, median(v)]));
  const total = [...perNode.values()].reduce((p, c) => p + c, 0);
  const byOp = new Map();
  for (const [k, v] of perNode) {
    const op = k.split(" ")[0];
    byOp.set(op, (byOp.get(op) ?? 0) + v);
  }
  console.log(`  kernel time per run ${(total / 1000).toFixed(2)} ms (per node: median over runs); by op type:`);
  for (const [k, v] of [...byOp].sort((x, y) => y[1] - x[1])) console.log(`    ${k.padEnd(22)} ${(v / 1000).toFixed(3)} ms`);
  console.log("  top nodes:");
  for (const [k, v] of [...perNode].sort((x, y) => y[1] - x[1]).slice(0, Number(a.top))) console.log(`    ${(v / 1000).toFixed(3)} ms  ${k}`);
}

for (const model of a.models.split(",")) {
  const bytes = new Uint8Array(readFileSync(new URL(`../../fixtures/bench/${model}.onnx`, import.meta.url)));
  const { feeds, labels } = inputsFor(model, batch);
  for (const mode of a.modes.split(",")) {
    let s, all;
    if (mode === "forward") {
      s = await session(bytes, a.profile, mode);
      all = feeds;
    } else {
      const graph = trainer.buildTrainingGraph(bytes, { loss: "cross_entropy", mode, physicalBatchSize: batch, ...(nchwcBlockSize !== undefined ? { nchwcBlockSize } : {}) });
      const init = trainer.readInitializers(bytes);
      all = { ...feeds, labels, sample_mask: new ort.Tensor("float32", new Float32Array(batch).fill(1), [batch]) };
      if (mode === "dp") all.max_grad_norm = new ort.Tensor("float32", Float32Array.of(1), []);
      for (const p of graph.params) all[p.name] = new ort.Tensor("float32", Float32Array.from(init.get(p.name).data), [...p.shape]);
      s = await session(graph.model, a.profile, mode);
    }
    const r = await time(s, all);
    console.log(`${model} ${mode}: best ${r.best.toFixed(2)} ms, median ${r.median.toFixed(2)} ms`);
    if (a.profile) {
      s.endProfiling();
      for (const f of readdirSync("/tmp").filter((n) => n.startsWith("cnn-profile") && n.endsWith(".json"))) {
        summarize(`/tmp/${f}`);
        rmSync(`/tmp/${f}`, { force: true });
      }
    }
    await s.release();
  }
}
