import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const bin = join(root, "packages/cli/bin/sanctum.js");

function sanctum(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

test("sanctum grads --json matches the functorch reference of the digits MLP batch", async () => {
  const reference = JSON.parse(readFileSync(join(root, "fixtures/training/digits_mlp.reference.json"), "utf8")) as {
    maxGradNorm: number; losses: number[]; perSampleGradNorms: number[]; clippedGradSumNorm: number; clippedGradSum: Record<string, { shape: number[] }>;
  };
  const r = await sanctum([
    "grads", "--model", "fixtures/training/digits_mlp.onnx", "--data", "fixtures/training/digits_mlp.batch.npz",
    "--loss", "cross_entropy", "--max-grad-norm", String(reference.maxGradNorm), "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as { losses: number[]; perSampleGradNorms: number[]; clippedGradSumNorm: number; params: Record<string, { shape: number[] }> };
  assert.deepEqual(Object.keys(json), ["losses", "perSampleGradNorms", "clippedGradSumNorm", "params"]);
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
  assert.ok(json.losses.every((v, i) => close(v, reference.losses[i]!)));
  assert.ok(json.perSampleGradNorms.every((v, i) => close(v, reference.perSampleGradNorms[i]!)));
  assert.ok(close(json.clippedGradSumNorm, reference.clippedGradSumNorm));
  assert.deepEqual(json.params, Object.fromEntries(Object.entries(reference.clippedGradSum).map(([k, v]) => [k, { shape: v.shape }])));
});

test("sanctum grads reports bad input as one error line", async () => {
  const r = await sanctum(["grads", "--model", "fixtures/training/digits_mlp.onnx", "--data", "fixtures/datasets/breast_cancer.train.npz", "--loss", "cross_entropy"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: --data fixtures\/datasets\/breast_cancer\.train\.npz: array 'x' has shape \[\d+, 30\] but the model input needs \[batch, 64\]\n$/);
  const bad = await sanctum(["grads", "--model", "fixtures/training/digits_mlp.onnx", "--data", "fixtures/training/digits_mlp.batch.npz", "--loss", "cross_entropy", "--max-grad-norm", "0"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --max-grad-norm must be a number in \(0, inf\), got '0'\n$/);
  const loss = await sanctum(["grads", "--model", "fixtures/training/digits_mlp.onnx", "--data", "fixtures/training/digits_mlp.batch.npz", "--loss", "hinge"]);
  assert.equal(loss.code, 2);
  assert.match(loss.stderr, /^error: option '--loss <name>' argument 'hinge' is invalid\. Allowed choices are cross_entropy, mse, bce_with_logits\./);
});
