import { test } from "node:test";
import assert from "node:assert/strict";
import { epsilonOf, planTraining } from "./plan-training.js";
import { TrainerError } from "../trainer-error.js";

test("planTraining: q = B / N, steps = epochs * round(1 / q), sigma calibrated to the target epsilon", () => {
  const plan = planTraining({ datasetSize: 60000, batchSize: 2048, epochs: 40, privacy: { mode: "dp", maxGradNorm: 0.1, targetEpsilon: 3, delta: 1e-5 } });
  assert.equal(plan.sampleRate, 2048 / 60000);
  assert.equal(plan.stepsPerEpoch, 29);
  assert.equal(plan.steps, 40 * 29);
  assert.ok(plan.epsilon! <= 3 && plan.epsilon! > 2.9, `epsilon ${plan.epsilon}`);
  assert.ok(plan.noiseMultiplier > 1 && plan.noiseMultiplier < 20, `sigma ${plan.noiseMultiplier}`);
  // The calibrated sigma reported back by the accountant gives the same epsilon.
  const again = planTraining({ datasetSize: 60000, batchSize: 2048, epochs: 40, privacy: { mode: "dp", maxGradNorm: 0.1, noiseMultiplier: plan.noiseMultiplier, delta: 1e-5 } });
  assert.ok(Math.abs(again.epsilon! - plan.epsilon!) < 1e-9);
});

test("planTraining: non-private plans ceil(N / B) steps; bad arguments name their range", () => {
  const plan = planTraining({ datasetSize: 1000, batchSize: 300, epochs: 2, privacy: { mode: "non-private" } });
  assert.deepEqual([plan.stepsPerEpoch, plan.steps, plan.noiseMultiplier, plan.epsilon], [4, 8, 0, undefined]);
  const isArg = (re: RegExp) => (e: unknown) => e instanceof TrainerError && e.code === "invalid-argument" && re.test(e.message);
  assert.throws(() => planTraining({ datasetSize: 10, batchSize: 11, epochs: 1, privacy: { mode: "non-private" } }), isArg(/batchSize must be an integer in \[1, 10\]/));
  assert.throws(() => planTraining({ datasetSize: 10, batchSize: 5, epochs: 0, privacy: { mode: "non-private" } }), isArg(/epochs must be/));
});

test("epsilonOf composes histories: more steps cost more; sigma 0 is infinite; nothing run is 0", () => {
  const one = epsilonOf([{ noiseMultiplier: 1.1, sampleRate: 0.01, steps: 1000 }], 1e-5, "rdp");
  const two = epsilonOf([{ noiseMultiplier: 1.1, sampleRate: 0.01, steps: 1000 }, { noiseMultiplier: 1.1, sampleRate: 0.01, steps: 1000 }], 1e-5, "rdp");
  assert.ok(two > one && two < 2 * one, `${one} ${two}`);
  assert.equal(epsilonOf([{ noiseMultiplier: 0, sampleRate: 0.01, steps: 1 }], 1e-5, "rdp"), Infinity);
  assert.equal(epsilonOf([], 1e-5, "rdp"), 0);
});
