import { test } from "node:test";
import assert from "node:assert/strict";
import { calibrateNoiseMultiplier } from "./calibrate-noise-multiplier.js";
import { computeEpsilon } from "./compute-epsilon.js";
import { PrivacyError } from "./privacy-error.js";

function places(actual: number, expected: number, digits: number): void {
  assert.ok(Math.abs(actual - expected) < 0.5 * 10 ** -digits, `expected ${expected} to ${digits} places, got ${actual}`);
}

test("Opacus get_noise_multiplier, RDP: epsilon 8, delta 1e-5, q 0.04 -> 1.416 (90 epochs), 1.3562 (2000 steps)", () => {
  const epochs = calibrateNoiseMultiplier({ targetEpsilon: 8, delta: 1e-5, sampleRate: 0.04, epochs: 90, accountant: "rdp" });
  places(epochs.noiseMultiplier, 1.416, 4);
  assert.equal(epochs.steps, 2250);
  const steps = calibrateNoiseMultiplier({ targetEpsilon: 8, delta: 1e-5, sampleRate: 0.04, steps: 2000 });
  places(steps.noiseMultiplier, 1.3562, 4);
  assert.equal(steps.steps, 2000);
});

test("Opacus get_noise_multiplier, PRV: 1.34765625 (90 epochs), 1.2915 (2000 steps)", () => {
  const epochs = calibrateNoiseMultiplier({ targetEpsilon: 8, delta: 1e-5, sampleRate: 0.04, epochs: 90, accountant: "prv" });
  places(epochs.noiseMultiplier, 1.34765625, 4);
  const steps = calibrateNoiseMultiplier({ targetEpsilon: 8, delta: 1e-5, sampleRate: 0.04, steps: 2000, accountant: "prv" });
  places(steps.noiseMultiplier, 1.2915, 4);
});

test("a calibrated sigma meets its target, within the tolerance", () => {
  const cases = [
    { targetEpsilon: 1, delta: 1e-6, sampleRate: 0.001, epochs: 50 },
    { targetEpsilon: 3, delta: 1e-5, sampleRate: 0.01, steps: 10_000 },
    { targetEpsilon: 10, delta: 1e-5, sampleRate: 0.1, epochs: 10 },
    { targetEpsilon: 0.5, delta: 1e-5, sampleRate: 1, steps: 10 },
  ];
  for (const c of cases) {
    const result = calibrateNoiseMultiplier(c);
    const check = computeEpsilon({
      history: [{ noiseMultiplier: result.noiseMultiplier, sampleRate: c.sampleRate, steps: result.steps }],
      delta: c.delta,
    });
    assert.equal(check.epsilon, result.epsilon);
    assert.ok(result.epsilon <= c.targetEpsilon, `${JSON.stringify(c)}: ${result.epsilon}`);
    assert.ok(result.epsilon >= c.targetEpsilon - 0.01, `${JSON.stringify(c)}: ${result.epsilon}`);
  }
});

test("epochs become floor(epochs / sampleRate) steps", () => {
  const result = calibrateNoiseMultiplier({ targetEpsilon: 5, delta: 1e-5, sampleRate: 0.03, epochs: 2 });
  assert.equal(result.steps, Math.floor(2 / 0.03));
});

test("an unreachable target and bad options are PrivacyErrors with codes", () => {
  assert.throws(
    () => calibrateNoiseMultiplier({ targetEpsilon: 1e-9, delta: 1e-5, sampleRate: 1, steps: 1_000_000 }),
    (err: unknown) => err instanceof PrivacyError && err.code === "budget-unreachable",
  );
  const invalid = (options: Parameters<typeof calibrateNoiseMultiplier>[0], parameter: string): void => {
    assert.throws(
      () => calibrateNoiseMultiplier(options),
      (err: unknown) => err instanceof PrivacyError && err.code === "invalid-argument" && err.message.includes(parameter),
    );
  };
  invalid({ targetEpsilon: 8, delta: 1e-5, sampleRate: 0.04 }, "steps");
  invalid({ targetEpsilon: 8, delta: 1e-5, sampleRate: 0.04, steps: 10, epochs: 1 }, "steps");
  invalid({ targetEpsilon: 0, delta: 1e-5, sampleRate: 0.04, steps: 10 }, "targetEpsilon");
  invalid({ targetEpsilon: 8, delta: 1e-5, sampleRate: 0.04, steps: 1.5 }, "steps");
  invalid({ targetEpsilon: 8, delta: 1e-5, sampleRate: 0.5, epochs: 0.1 }, "epochs");
  invalid({ targetEpsilon: 8, delta: 1e-5, sampleRate: 0.04, steps: 10, epsilonTolerance: 0 }, "epsilonTolerance");
});

test("PRV calibration with the coarse-grid bracket returns exactly what the plain search returns", () => {
  // Opacus's get_noise_multiplier loop, every point evaluated on the full grid.
  const plain = (targetEpsilon: number, delta: number, sampleRate: number, steps: number): number => {
    const eps = (noiseMultiplier: number): number =>
      computeEpsilon({ history: [{ noiseMultiplier, sampleRate, steps }], delta, accountant: "prv" }).epsilon;
    let low = 0;
    let high = 10;
    let epsHigh = Infinity;
    while (epsHigh > targetEpsilon) {
      high *= 2;
      epsHigh = eps(high);
    }
    while (targetEpsilon - epsHigh > 0.01) {
      const sigma = (low + high) / 2;
      const e = eps(sigma);
      if (e < targetEpsilon) {
        high = sigma;
        epsHigh = e;
      } else {
        low = sigma;
      }
    }
    return high;
  };
  for (const [targetEpsilon, sampleRate, steps] of [
    [3, 0.05, 300],
    [1, 1, 5],
    [6, 0.02, 800],
  ] as const) {
    const fast = calibrateNoiseMultiplier({ targetEpsilon, delta: 1e-5, sampleRate, steps, accountant: "prv" });
    assert.equal(fast.noiseMultiplier, plain(targetEpsilon, 1e-5, sampleRate, steps), `target ${targetEpsilon}, q ${sampleRate}, ${steps} steps`);
  }
});
