import { test } from "node:test";
import assert from "node:assert/strict";
import { computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon, TF_PRIVACY_RDP_ORDERS } from "./rdp.js";
import { computeEpsilon } from "./compute-epsilon.js";
import { assertClose } from "./internal/test-util.js";

function places(actual: number, expected: number, digits: number): void {
  // unittest's assertAlmostEqual: round(actual - expected, digits) == 0
  assert.ok(Math.abs(actual - expected) < 0.5 * 10 ** -digits, `expected ${expected} to ${digits} places, got ${actual}`);
}

test("default orders are Opacus's DEFAULT_ALPHAS", () => {
  assert.equal(DEFAULT_RDP_ORDERS.length, 151);
  assert.equal(DEFAULT_RDP_ORDERS[0], 1.1);
  assert.equal(DEFAULT_RDP_ORDERS[8], 1.9);
  assert.equal(DEFAULT_RDP_ORDERS[98], 10.9);
  assert.equal(DEFAULT_RDP_ORDERS[99], 12);
  assert.equal(DEFAULT_RDP_ORDERS[150], 63);
});

test("Opacus test_rdp_accountant: sigma 1.5, q 0.04, 2250 steps, delta 1e-5 -> 7.32911117143", () => {
  const result = computeEpsilon({ history: [{ noiseMultiplier: 1.5, sampleRate: 0.04, steps: 2250 }], delta: 1e-5 });
  places(result.epsilon, 7.32911117143, 7);
  assert.equal(result.accountant, "rdp");
  assert.equal(result.order, 3.9);
});

test("TF Privacy compute_dp_sgd_privacy test cases (current conversion)", () => {
  const cases = [
    { n: 60000, batch: 150, sigma: 1.3, epochs: 15, delta: 1e-5, eps: 0.7242234026109595, order: 19 },
    { n: 100000, batch: 100, sigma: 1.0, epochs: 30, delta: 1e-7, eps: 1.4154988495444845, order: 13 },
    // sigma 0.1, q ~1e-5, ~1e6 steps: an extreme case that must stay finite and exact.
    { n: 100000000, batch: 1024, sigma: 0.1, epochs: 10, delta: 1e-7, eps: 5907982.31138195, order: 1.25 },
  ];
  for (const c of cases) {
    const steps = Math.ceil((c.epochs * c.n) / c.batch);
    const result = computeEpsilon({
      history: [{ noiseMultiplier: c.sigma, sampleRate: c.batch / c.n, steps }],
      delta: c.delta,
      orders: TF_PRIVACY_RDP_ORDERS,
    });
    assertClose(result.epsilon, c.eps, { absolute: 1e-9, relative: 1e-12 }, `N ${c.n} batch ${c.batch}`);
    assert.equal(result.order, c.order);
  }
});

test("RDP composes additively: a history equals its merged mechanism", () => {
  const one = computeRdp({ noiseMultiplier: 1.1, sampleRate: 0.01, steps: 1 });
  const many = computeRdp({ noiseMultiplier: 1.1, sampleRate: 0.01, steps: 1000 });
  for (let k = 0; k < one.length; k++) assertClose(many[k]!, 1000 * one[k]!, { relative: 1e-12 });
  const split = computeEpsilon({
    history: [
      { noiseMultiplier: 1.1, sampleRate: 0.01, steps: 400 },
      { noiseMultiplier: 1.1, sampleRate: 0.01, steps: 600 },
    ],
    delta: 1e-5,
  });
  const whole = computeEpsilon({ history: [{ noiseMultiplier: 1.1, sampleRate: 0.01, steps: 1000 }], delta: 1e-5 });
  assert.equal(split.epsilon, whole.epsilon);
});

test("heterogeneous history: composition is below the sum of the parts' epsilons", () => {
  const a = { noiseMultiplier: 1.0, sampleRate: 0.02, steps: 500 };
  const b = { noiseMultiplier: 2.0, sampleRate: 0.05, steps: 300 };
  const both = computeEpsilon({ history: [a, b], delta: 1e-5 }).epsilon;
  const ea = computeEpsilon({ history: [a], delta: 1e-5 }).epsilon;
  const eb = computeEpsilon({ history: [b], delta: 1e-5 }).epsilon;
  assert.ok(both > Math.max(ea, eb), `${both} > max(${ea}, ${eb})`);
  assert.ok(both < ea + eb, `${both} < ${ea} + ${eb}`);
});

test("q = 1 is the Gaussian mechanism: RDP alpha / (2 sigma^2) per step", () => {
  const rdp = computeRdp({ noiseMultiplier: 2, sampleRate: 1, steps: 3 }, [2, 10.5]);
  assertClose(rdp[0]!, (3 * 2) / 8, { relative: 1e-15 });
  assertClose(rdp[1]!, (3 * 10.5) / 8, { relative: 1e-15 });
});

test("subsampled RDP never exceeds the unsubsampled Gaussian's, at integer and fractional orders", () => {
  for (const sigma of [0.3, 1, 5]) {
    for (const q of [1e-6, 0.01, 0.5, 0.999]) {
      const rdp = computeRdp({ noiseMultiplier: sigma, sampleRate: q, steps: 1 });
      DEFAULT_RDP_ORDERS.forEach((a, k) => {
        assert.ok(rdp[k]! >= 0 && rdp[k]! <= a / (2 * sigma * sigma) * (1 + 1e-12), `sigma ${sigma} q ${q} alpha ${a}: ${rdp[k]}`);
      });
    }
  }
});

test("conversion: Balle et al. 2020 Theorem 21 at the best order, clamped at 0", () => {
  const orders = [2, 3];
  const { epsilon, order } = rdpToEpsilon(orders, [0.5, 0.6], 1e-5);
  const e2 = 0.5 - (Math.log(1e-5) + Math.log(2)) / 1 + Math.log(1 / 2);
  const e3 = 0.6 - (Math.log(1e-5) + Math.log(3)) / 2 + Math.log(2 / 3);
  assertClose(epsilon, Math.min(e2, e3), { absolute: 1e-15 });
  assert.equal(order, e3 < e2 ? 3 : 2);
  assert.equal(rdpToEpsilon([63], [0], 0.999).epsilon, 0);
});
