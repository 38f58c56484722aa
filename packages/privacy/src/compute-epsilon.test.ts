import { test } from "node:test";
import assert from "node:assert/strict";
import { computeEpsilon } from "./compute-epsilon.js";
import type { AccountantName, Mechanism } from "./mechanism.js";
import { PrivacyError } from "./privacy-error.js";

const eps = (m: Mechanism, accountant: AccountantName = "rdp", delta = 1e-5): number =>
  computeEpsilon({ history: [m], delta, accountant }).epsilon;

for (const accountant of ["rdp", "prv"] as const) {
  test(`${accountant}: epsilon decreases in sigma and increases in q, in steps and as delta shrinks`, () => {
    const base = { noiseMultiplier: 1.2, sampleRate: 0.02, steps: 1000 };
    const e = eps(base, accountant);
    assert.ok(eps({ ...base, noiseMultiplier: 1.5 }, accountant) < e);
    assert.ok(eps({ ...base, noiseMultiplier: 0.9 }, accountant) > e);
    assert.ok(eps({ ...base, sampleRate: 0.04 }, accountant) > e);
    assert.ok(eps({ ...base, sampleRate: 0.01 }, accountant) < e);
    assert.ok(eps({ ...base, steps: 2000 }, accountant) > e);
    assert.ok(eps({ ...base, steps: 500 }, accountant) < e);
    assert.ok(eps(base, accountant, 1e-7) > e);
  });

  test(`${accountant}: an empty history or zero steps spends nothing`, () => {
    assert.equal(computeEpsilon({ history: [], delta: 1e-5, accountant }).epsilon, 0);
    assert.equal(eps({ noiseMultiplier: 1, sampleRate: 0.1, steps: 0 }, accountant), 0);
  });

  test(`${accountant}: sampleRate 1 (a noised count or sum released several times)`, () => {
    const once = eps({ noiseMultiplier: 5, sampleRate: 1, steps: 1 }, accountant);
    const ten = eps({ noiseMultiplier: 5, sampleRate: 1, steps: 10 }, accountant);
    assert.ok(Number.isFinite(once) && once > 0 && ten > once, `${once} ${ten}`);
    // The exact epsilon of the Gaussian mechanism at sigma 5, delta 1e-5 is 0.72552175
    // (Balle and Wang 2018, Theorem 8, solved with SciPy): both accountants bound it from
    // above, and PRV's estimate is within its error.
    assert.ok(once >= 0.72552 && once < 0.85, `${once}`);
    if (accountant === "prv") {
      const estimate = computeEpsilon({ history: [{ noiseMultiplier: 5, sampleRate: 1, steps: 1 }], delta: 1e-5, accountant }).epsilonEstimate!;
      assert.ok(Math.abs(estimate - 0.7255217508577968) < 1e-3, `${estimate}`);
    }
  });
}

test("prv bounds are ordered and tighter than rdp", () => {
  const m = { noiseMultiplier: 1.0, sampleRate: 0.01, steps: 5000 };
  const prv = computeEpsilon({ history: [m], delta: 1e-5, accountant: "prv" });
  const rdp = computeEpsilon({ history: [m], delta: 1e-5 });
  assert.ok(prv.epsilonLower! <= prv.epsilonEstimate! && prv.epsilonEstimate! <= prv.epsilonUpper!);
  assert.equal(prv.epsilon, prv.epsilonUpper);
  assert.ok(prv.epsilon < rdp.epsilon, `${prv.epsilon} < ${rdp.epsilon}`);
  assert.equal(prv.order, undefined);
});

test("rdp: extreme inputs give finite epsilons", () => {
  const extremes: Mechanism[] = [
    { noiseMultiplier: 1, sampleRate: 1e-12, steps: 1000 },
    { noiseMultiplier: 1, sampleRate: Number.MIN_VALUE, steps: 10 },
    { noiseMultiplier: 1, sampleRate: 1 - 1e-12, steps: 1000 },
    { noiseMultiplier: 1, sampleRate: 1, steps: 1000 },
    { noiseMultiplier: 0.1, sampleRate: 0.01, steps: 1000 },
    { noiseMultiplier: 0.1, sampleRate: 1, steps: 10_000_000 },
    { noiseMultiplier: 1e3, sampleRate: 0.5, steps: 10_000_000 },
    { noiseMultiplier: 1e12, sampleRate: 0.5, steps: 1 },
    { noiseMultiplier: 1, sampleRate: 0.01, steps: 10_000_000 },
    { noiseMultiplier: 0.5, sampleRate: 0.99, steps: 10_000_000 },
  ];
  for (const m of extremes) {
    const result = computeEpsilon({ history: [m], delta: 1e-5 });
    assert.ok(Number.isFinite(result.epsilon) && result.epsilon >= 0, `${JSON.stringify(m)}: ${result.epsilon}`);
    assert.ok(Number.isFinite(result.order!), `${JSON.stringify(m)}: order ${result.order}`);
  }
  // q -> 0 and sigma -> infinity approach zero privacy loss.
  assert.ok(eps({ noiseMultiplier: 1, sampleRate: 1e-12, steps: 1000 }) < 0.2);
  assert.ok(eps({ noiseMultiplier: 1e3, sampleRate: 0.01, steps: 1000 }) < 0.2);
});

test("prv: extreme inputs give finite bounds", () => {
  const extremes: Mechanism[] = [
    { noiseMultiplier: 1, sampleRate: 1e-9, steps: 1000 },
    { noiseMultiplier: 1, sampleRate: 1, steps: 100 },
    { noiseMultiplier: 0.1, sampleRate: 0.01, steps: 100 },
    { noiseMultiplier: 0.1, sampleRate: 1, steps: 1 },
    { noiseMultiplier: 1e3, sampleRate: 0.5, steps: 1000 },
    { noiseMultiplier: 2, sampleRate: 0.001, steps: 10_000_000 },
  ];
  for (const m of extremes) {
    const r = computeEpsilon({ history: [m], delta: 1e-5, accountant: "prv" });
    for (const v of [r.epsilon, r.epsilonLower!, r.epsilonEstimate!]) {
      assert.ok(Number.isFinite(v) && v >= 0, `${JSON.stringify(m)}: ${JSON.stringify(r)}`);
    }
  }
});

test("out-of-range inputs are invalid-argument errors naming the parameter and range", () => {
  const bad: [Parameters<typeof computeEpsilon>[0], string][] = [
    [{ history: [{ noiseMultiplier: 0, sampleRate: 0.1, steps: 1 }], delta: 1e-5 }, "history[0].noiseMultiplier"],
    [{ history: [{ noiseMultiplier: Number.NaN, sampleRate: 0.1, steps: 1 }], delta: 1e-5 }, "history[0].noiseMultiplier"],
    [{ history: [{ noiseMultiplier: 1, sampleRate: 0, steps: 1 }], delta: 1e-5 }, "history[0].sampleRate must be a finite number in (0, 1]"],
    [{ history: [{ noiseMultiplier: 1, sampleRate: 1.5, steps: 1 }], delta: 1e-5 }, "history[0].sampleRate"],
    [{ history: [{ noiseMultiplier: 1, sampleRate: 0.1, steps: -1 }], delta: 1e-5 }, "history[0].steps must be an integer"],
    [{ history: [{ noiseMultiplier: 1, sampleRate: 0.1, steps: 2.5 }], delta: 1e-5 }, "history[0].steps"],
    [{ history: [], delta: 0 }, "delta must be a finite number in (0, 1)"],
    [{ history: [], delta: 1 }, "delta"],
    [{ history: [], delta: 1e-5, accountant: "gdp" as AccountantName }, "accountant"],
    [{ history: [], delta: 1e-5, accountant: "prv", epsError: 0 }, "epsError"],
    [{ history: [], delta: 1e-5, accountant: "prv", deltaError: 1e-5 }, "deltaError"],
    [{ history: [], delta: 1e-5, orders: [1] }, "orders"],
  ];
  for (const [options, text] of bad) {
    assert.throws(
      () => computeEpsilon(options),
      (err: unknown) => err instanceof PrivacyError && err.code === "invalid-argument" && err.message.includes(text),
      text,
    );
  }
});

test("prv: a delta too small for the grid is a numerical-failure, not a wrong answer", () => {
  assert.throws(
    () => computeEpsilon({ history: [{ noiseMultiplier: 1, sampleRate: 0.01, steps: 100 }], delta: 1e-13, accountant: "prv" }),
    (err: unknown) => err instanceof PrivacyError && err.code === "numerical-failure",
  );
});
