import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeEpsilon } from "@sanctum/privacy";
import { planRun } from "./plan-run.js";

const base = { trainRows: 455, batchSize: 64, epochs: 10, epsilon: 1, delta: 1e-5, maxGradNorm: 1, metricsOn: "train" as const, hasAccuracy: true };

describe("run planning", () => {
  it("calibrates training so that training and metrics composed meet the target, within 0.01", () => {
    const plan = planRun({ ...base, metricsShare: 0.1 });
    const total = computeEpsilon({ history: [plan.training, plan.metrics!], delta: 1e-5 }).epsilon;
    assert.ok(total <= 1 && total > 0.99, `total ${total}`);
    assert.equal(plan.privacy.epsilon, total);
    assert.equal(plan.training.sampleRate, 64 / 455);
    assert.equal(plan.training.steps, 10 * Math.round(455 / 64));
    assert.equal(plan.metrics!.steps, 10);
    assert.equal(plan.metrics!.sampleRate, 1);
    assert.equal(plan.privacy.metricsSensitivity, Math.SQRT2);
  });

  it("spends more noise on training when metrics take a share, none without them", () => {
    const without = planRun({ ...base, metricsShare: 0 });
    const withMetrics = planRun({ ...base, metricsShare: 0.2 });
    assert.equal(without.metrics, undefined);
    assert.ok(withMetrics.training.noiseMultiplier > without.training.noiseMultiplier);
    const alone = computeEpsilon({ history: [without.training], delta: 1e-5 }).epsilon;
    assert.ok(alone <= 1 && alone > 0.99);
  });

  it("subsamples large datasets for metrics and charges eval metrics apart from training", () => {
    const plan = planRun({ ...base, trainRows: 60000, batchSize: 256, metricsShare: 0.1, metricsOn: "eval", evalRows: 10000, evalDelta: 1e-5 });
    assert.equal(plan.metrics!.sampleRate, 4096 / 10000);
    const training = computeEpsilon({ history: [plan.training], delta: 1e-5 }).epsilon;
    assert.ok(training <= 1 && training > 0.99, `training alone meets the target: ${training}`);
  });
});
