import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { computeGradients } from "./compute-gradients.js";
import { decodeNpz } from "./npz.js";
import type { TrainingDataset } from "./dataset.js";
import type { TrainingLoss } from "./training-types.js";

// References: fixtures/training/<name>.reference.json, computed with functorch vmap(grad(...))
// by scripts/fixtures (PyTorch 1.13).
const fixtures = new URL("../../../../fixtures/training/", import.meta.url);

function batchOf(name: string): TrainingDataset {
  const arrays = decodeNpz(readFileSync(new URL(`${name}.batch.npz`, fixtures)));
  const labels = arrays.get("labels")!;
  arrays.delete("labels");
  return { inputs: Object.fromEntries(arrays), labels };
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-4 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

for (const name of ["digits_mlp", "regressor", "binary", "transformer"]) {
  test(`computeGradients matches the functorch reference for ${name}`, async () => {
    const reference = JSON.parse(readFileSync(new URL(`${name}.reference.json`, fixtures), "utf8")) as {
      loss: TrainingLoss; maxGradNorm: number; losses: number[]; perSampleGradNorms: number[]; clippedGradSumNorm: number; clippedGradSum: Record<string, { shape: number[] }>;
    };
    const report = await computeGradients({
      model: new Uint8Array(readFileSync(new URL(`${name}.onnx`, fixtures))),
      batch: batchOf(name),
      loss: reference.loss,
      maxGradNorm: reference.maxGradNorm,
    });
    reference.losses.forEach((l, i) => close(report.losses[i]!, l, `loss ${i}`));
    reference.perSampleGradNorms.forEach((n, i) => close(report.perSampleGradNorms[i]!, n, `norm ${i}`));
    close(report.clippedGradSumNorm, reference.clippedGradSumNorm, "clipped sum norm");
    for (const p of report.params) assert.deepEqual([...p.shape], reference.clippedGradSum[p.name]?.shape, p.name);
  });
}
