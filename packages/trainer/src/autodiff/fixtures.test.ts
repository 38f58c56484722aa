import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { readInitializers } from "../onnx/initializers.js";
import { buildTrainingGraph } from "./build-training-graph.js";
import type { LossName } from "./losses.js";
import { readNpz } from "./testing/read-npz.js";
import { relativeError, runStep } from "./testing/run-step.js";

const dir = new URL("../../../../fixtures/training/", import.meta.url);

interface Reference {
  loss: LossName;
  maxGradNorm: number;
  losses: number[];
  perSampleGradNorms: number[];
  clippedGradSum: Record<string, { shape: number[]; data: number[] }>;
  gradSum: Record<string, { shape: number[]; data: number[] }>;
  trainable: string[];
}

async function check(name: string): Promise<void> {
  const model = new Uint8Array(readFileSync(new URL(`${name}.onnx`, dir)));
  const ref = JSON.parse(readFileSync(new URL(`${name}.reference.json`, dir), "utf8")) as Reference;
  const batch = readNpz(new Uint8Array(readFileSync(new URL(`${name}.batch.npz`, dir))));
  const inits = readInitializers(model);
  for (const mode of ["dp", "non-private"] as const) {
    const graph = buildTrainingGraph(model, { loss: ref.loss, mode });
    assert.deepEqual(graph.params.map((p) => p.name), ref.trainable);
    const feeds: Record<string, ort.Tensor> = {};
    let b = 0;
    for (const [key, arr] of batch) {
      const t = arr.dtype === "int64" ? new ort.Tensor("int64", arr.data as BigInt64Array, arr.shape) : new ort.Tensor("float32", arr.data as Float32Array, arr.shape);
      feeds[key] = t;
      b = arr.shape[0] ?? 0;
    }
    for (const p of graph.params) feeds[p.name] = new ort.Tensor("float32", inits.get(p.name)?.data ?? new Float32Array(), [...p.shape]);
    feeds["sample_mask"] = new ort.Tensor("float32", new Float32Array(b).fill(1), [b]);
    if (mode === "dp") feeds["max_grad_norm"] = new ort.Tensor("float32", Float32Array.of(ref.maxGradNorm), []);
    const out = await runStep(graph, feeds);
    const losses = out["losses"]?.data as Float32Array;
    assert.ok(relativeError(losses, ref.losses) <= 1e-4, `${name} ${mode} losses: ${relativeError(losses, ref.losses)}`);
    if (mode === "dp") {
      const norms = out["per_sample_grad_norms"]?.data as Float32Array;
      assert.ok(relativeError(norms, ref.perSampleGradNorms) <= 1e-4, `${name} norms: ${relativeError(norms, ref.perSampleGradNorms)} got ${Array.from(norms)} want ${ref.perSampleGradNorms}`);
    }
    const want = mode === "dp" ? ref.clippedGradSum : ref.gradSum;
    for (const p of graph.params) {
      const got = out[`grad:${p.name}`]?.data as Float32Array;
      const exp = want[p.name]?.data ?? [];
      const err = relativeError(got, exp);
      assert.ok(err <= 1e-4, `${name} ${mode} grad:${p.name}: relative error ${err}`);
    }
  }
}

async function feedsFor(name: string, params: readonly { name: string; shape: readonly number[] }[], mask?: Float32Array): Promise<Record<string, ort.Tensor>> {
  const model = new Uint8Array(readFileSync(new URL(`${name}.onnx`, dir)));
  const batch = readNpz(new Uint8Array(readFileSync(new URL(`${name}.batch.npz`, dir))));
  const inits = readInitializers(model);
  const feeds: Record<string, ort.Tensor> = {};
  let b = 0;
  for (const [key, arr] of batch) {
    feeds[key] = arr.dtype === "int64" ? new ort.Tensor("int64", arr.data as BigInt64Array, arr.shape) : new ort.Tensor("float32", arr.data as Float32Array, arr.shape);
    b = arr.shape[0] ?? 0;
  }
  for (const p of params) feeds[p.name] = new ort.Tensor("float32", inits.get(p.name)?.data ?? new Float32Array(), [...p.shape]);
  feeds["sample_mask"] = new ort.Tensor("float32", mask ?? new Float32Array(b).fill(1), [b]);
  return feeds;
}

describe("frozen parameters and padding", () => {
  it("freezing by prefix trains the rest with the same gradients", async () => {
    const model = new Uint8Array(readFileSync(new URL("mlp.onnx", dir)));
    const ref = JSON.parse(readFileSync(new URL("mlp.reference.json", dir), "utf8")) as Reference;
    const frozen = ref.trainable.slice(0, 2);
    const graph = buildTrainingGraph(model, { loss: "cross_entropy", mode: "non-private", frozen: [frozen[0] ?? "", (frozen[1] ?? "").slice(0, -2)] });
    assert.deepEqual(graph.params.map((p) => p.name), ref.trainable.slice(2));
    const out = await runStep(graph, await feedsFor("mlp", graph.params));
    for (const p of graph.params) {
      assert.ok(relativeError(out[`grad:${p.name}`]?.data as Float32Array, ref.gradSum[p.name]?.data ?? []) <= 1e-4, p.name);
    }
  });

  it("masked samples contribute nothing (dp)", async () => {
    const model = new Uint8Array(readFileSync(new URL("transformer.onnx", dir)));
    const ref = JSON.parse(readFileSync(new URL("transformer.reference.json", dir), "utf8")) as Reference;
    const graph = buildTrainingGraph(model, { loss: "cross_entropy", mode: "dp" });
    const mask = Float32Array.from([1, 1, 1, 1, 1, 0, 0, 0]);
    const masked = await feedsFor("transformer", graph.params, mask);
    masked["max_grad_norm"] = new ort.Tensor("float32", Float32Array.of(ref.maxGradNorm), []);
    const out = await runStep(graph, masked);
    const losses = out["losses"]?.data as Float32Array;
    const norms = out["per_sample_grad_norms"]?.data as Float32Array;
    assert.deepEqual(Array.from(losses.subarray(5)), [0, 0, 0]);
    assert.deepEqual(Array.from(norms.subarray(5)), [0, 0, 0]);
    assert.ok(relativeError(norms.subarray(0, 5), ref.perSampleGradNorms.slice(0, 5)) <= 1e-4);
    // The same five samples alone, as a batch of 5.
    const five: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(masked)) {
      if (graph.params.some((p) => p.name === k) || k === "max_grad_norm") { five[k] = t; continue; }
      const per = t.size / 8;
      const data = t.type === "int64" ? (t.data as BigInt64Array).slice(0, 5 * per) : (t.data as Float32Array).slice(0, 5 * per);
      five[k] = t.type === "int64" ? new ort.Tensor("int64", data as BigInt64Array, [5, ...t.dims.slice(1)]) : new ort.Tensor("float32", data as Float32Array, [5, ...t.dims.slice(1)]);
    }
    const alone = await runStep(graph, five);
    for (const p of graph.params) {
      const err = relativeError(out[`grad:${p.name}`]?.data as Float32Array, alone[`grad:${p.name}`]?.data as Float32Array);
      assert.ok(err <= 1e-5, `${p.name}: ${err}`);
    }
  });
});

describe("training graphs match functorch per-sample references", () => {
  for (const name of ["mlp", "binary", "regressor", "cnn_groupnorm", "transformer", "breast_cancer_mlp", "digits_mlp"]) {
    it(name, async () => { await check(name); });
  }
});
