import { test } from "node:test";
import assert from "node:assert/strict";
import { computeEpsilon } from "./compute-epsilon.js";
import { composePrv, computePrvEpsilon, DEFAULT_MAX_GRID_SIZE } from "./prv.js";
import type { Mechanism } from "./mechanism.js";
import { planPrvGrid } from "./internal/prv-grid.js";
import { assertClose } from "./internal/test-util.js";

test("Opacus test_prv_accountant: sigma 1.5, q 0.04, 2249 steps, delta 1e-5 -> 6.777395712150674", () => {
  const result = computeEpsilon({
    history: [{ noiseMultiplier: 1.5, sampleRate: 0.04, steps: Math.floor(90 / 0.04) - 1 }],
    delta: 1e-5,
    accountant: "prv",
  });
  assertClose(result.epsilon, 6.777395712150674, { absolute: 1e-3 });
  assert.equal(result.epsilonUpper, result.epsilon);
  // Opacus's defaults: epsError 0.01 on each side of the estimate.
  assertClose(result.epsilonUpper! - result.epsilonEstimate!, 0.01, { absolute: 2e-3 });
});

test("q = 1 composes to the exact Gaussian mechanism (Balle and Wang 2018, Theorem 8)", () => {
  // Ten releases at sigma 5 are one release at sigma 5 / sqrt(10); its exact epsilon at
  // delta 1e-5 is 2.5943833805276104 (solved with SciPy's brentq).
  const history = [{ noiseMultiplier: 5, sampleRate: 1, steps: 10 }];
  const result = computeEpsilon({ history, delta: 1e-5, accountant: "prv" });
  assertClose(result.epsilonEstimate!, 2.5943833805276104, { absolute: 1e-4 });
  assert.ok(result.epsilonLower! <= 2.5943833805276104 && 2.5943833805276104 <= result.epsilonUpper!);
});

test("a heterogeneous history composes like the merged one", () => {
  const merged = computeEpsilon({ history: [{ noiseMultiplier: 1.2, sampleRate: 0.03, steps: 700 }], delta: 1e-5, accountant: "prv" });
  // Different (sigma, q) pairs are composed through separate spectra; a nearly equal pair
  // must give the same answer as the merged mechanism.
  const split = computeEpsilon({
    history: [
      { noiseMultiplier: 1.2, sampleRate: 0.03, steps: 300 },
      { noiseMultiplier: 1.2 + 1e-12, sampleRate: 0.03, steps: 400 },
    ],
    delta: 1e-5,
    accountant: "prv",
  });
  assertClose(split.epsilon, merged.epsilon, { absolute: 1e-6 });
});

test("a capped grid widens the error term instead of losing the guarantee", () => {
  const history = [{ noiseMultiplier: 1.0, sampleRate: 0.02, steps: 3000 }];
  const full = computePrvEpsilon(history, { delta: 1e-5, epsError: 0.01, deltaError: 1e-8 });
  const capped = computePrvEpsilon(history, { delta: 1e-5, epsError: 0.01, deltaError: 1e-8, maxGridSize: 2 ** 14 });
  assert.equal(capped.gridSize, 2 ** 14);
  assert.ok(capped.epsError > 0.01);
  assert.ok(capped.upper >= full.estimate && capped.lower <= full.estimate, JSON.stringify({ full, capped }));
});

test("the sparse delta curve (surviving bins only) equals the inverse-FFT one", () => {
  const cases: { history: Mechanism[]; delta: number }[] = [
    { history: [{ noiseMultiplier: 1.5, sampleRate: 0.04, steps: 2249 }], delta: 1e-5 },
    { history: [{ noiseMultiplier: 5, sampleRate: 1, steps: 10 }], delta: 1e-5 },
    {
      history: [
        { noiseMultiplier: 1.2, sampleRate: 0.03, steps: 300 },
        { noiseMultiplier: 0.9, sampleRate: 0.01, steps: 4001 },
      ],
      delta: 1e-6,
    },
    { history: [{ noiseMultiplier: 0.6, sampleRate: 0.5, steps: 3 }], delta: 1e-5 },
  ];
  for (const { history, delta } of cases) {
    const grid = planPrvGrid(history, 0.01, delta / 1000, DEFAULT_MAX_GRID_SIZE);
    const fft = composePrv(history, grid, { path: "fft" });
    const sparse = composePrv(history, grid, { path: "sparse" });
    for (const d of [delta * 0.999, delta, delta * 1.001, 1e-3, 0.1]) {
      assertClose(sparse.epsilonAt(d), fft.epsilonAt(d), { absolute: 1e-9 }, `${JSON.stringify(history)} at delta ${d}`);
    }
  }
});

test("the low-frequency route (certified surviving bins, no FFT) equals the FFT route", () => {
  const cases: { history: Mechanism[]; delta: number; maxGridSize: number }[] = [
    { history: [{ noiseMultiplier: 1, sampleRate: 0.001, steps: 10_000 }], delta: 1e-5, maxGridSize: DEFAULT_MAX_GRID_SIZE },
    { history: [{ noiseMultiplier: 1, sampleRate: 0.001, steps: 1_000_000 }], delta: 1e-5, maxGridSize: 2 ** 20 },
    {
      history: [
        { noiseMultiplier: 0.9, sampleRate: 0.01, steps: 20_000 },
        { noiseMultiplier: 1.3, sampleRate: 0.02, steps: 3000 },
      ],
      delta: 1e-6,
      maxGridSize: DEFAULT_MAX_GRID_SIZE,
    },
  ];
  for (const { history, delta, maxGridSize } of cases) {
    const grid = planPrvGrid(history, 0.01, delta / 1000, maxGridSize);
    const fft = composePrv(history, grid, { spectrum: "fft" });
    const low = composePrv(history, grid, { spectrum: "low" });
    for (const d of [delta * 0.999, delta, 1e-3, 0.1]) {
      // Both routes carry about an ulp per bin, which N-fold composition multiplies by N:
      // at 10^6 steps they agree to about 1e-6 (each within that of a compensated reference).
      assertClose(low.epsilonAt(d), fft.epsilonAt(d), { absolute: 1e-5 }, `${JSON.stringify(history)} at delta ${d}`);
    }
  }
});
