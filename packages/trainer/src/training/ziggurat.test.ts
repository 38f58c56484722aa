import { test } from "node:test";
import assert from "node:assert/strict";
import { sampleStandardNormal } from "./gaussian-noise.js";
import { createSecureRandom } from "./random-source.js";
import { ZIGGURAT_R, ZIGGURAT_V, ZIGGURAT_X, ZIGGURAT_Y } from "./ziggurat.js";

/** Standard normal CDF via erfc (Numerical Recipes' erfcc, relative error < 1.2e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r / 2 : r / 2;
}

test("Ziggurat tables: 256 layers of equal area, decreasing edges, base layer covers the tail", () => {
  assert.equal(ZIGGURAT_X.length, 257);
  assert.equal(ZIGGURAT_X[1], ZIGGURAT_R);
  for (let i = 0; i < 256; i++) assert.ok(ZIGGURAT_X[i]! > ZIGGURAT_X[i + 1]!, `X[${i}] > X[${i + 1}]`);
  for (let i = 1; i < 256; i++) {
    const area = ZIGGURAT_X[i]! * (ZIGGURAT_Y[i + 1]! - ZIGGURAT_Y[i]!);
    assert.ok(Math.abs(area - ZIGGURAT_V) < 1e-10, `layer ${i} area ${area}`);
  }
  // Base layer: box [0, R] x [0, f(R)] plus the tail area sqrt(pi / 2) * 2 (1 - Phi(R)).
  const tail = Math.sqrt(Math.PI / 2) * 2 * (1 - phi(ZIGGURAT_R));
  assert.ok(Math.abs(ZIGGURAT_R * ZIGGURAT_Y[1]! + tail - ZIGGURAT_V) < 1e-9);
  // The layers cover the half-Gaussian (area sqrt(pi / 2)) with 0.67 % overhang: Marsaglia and
  // Tsang's 99.33 % efficiency for 256 layers.
  assert.ok(Math.abs(Math.sqrt(Math.PI / 2) / (256 * ZIGGURAT_V) - 0.99332) < 1e-4);
});

test("Ziggurat draws follow N(0, 1): binned frequencies (chi-square) and tail probabilities", () => {
  const n = 1_000_000;
  const z = sampleStandardNormal(n, createSecureRandom());
  // 40 bins on [-4, 4] plus two tails; chi-square with 41 degrees of freedom: mean 41, sd 9.1;
  // 90 is beyond the 0.9999 quantile.
  const edges = Array.from({ length: 41 }, (_, i) => -4 + i * 0.2);
  const counts = new Array<number>(42).fill(0);
  let beyondR = 0;
  let beyond2 = 0;
  for (const v of z) {
    counts[v < -4 ? 0 : v >= 4 ? 41 : Math.min(40, 1 + Math.floor((v + 4) / 0.2))]!++;
    if (Math.abs(v) > ZIGGURAT_R) beyondR++;
    if (Math.abs(v) > 2) beyond2++;
  }
  let chi2 = 0;
  for (let b = 0; b < 42; b++) {
    const lo = b === 0 ? -Infinity : edges[b - 1]!;
    const hi = b === 41 ? Infinity : edges[b]!;
    const expected = n * ((hi === Infinity ? 1 : phi(hi)) - (lo === -Infinity ? 0 : phi(lo)));
    chi2 += (counts[b]! - expected) ** 2 / expected;
  }
  assert.ok(chi2 < 90, `chi-square ${chi2}`);
  // P(|z| > R) = 2.58e-4: expected 258 of 1e6 (sd 16); P(|z| > 2) = 0.0455: 45,500 (sd 208).
  const pR = 2 * (1 - phi(ZIGGURAT_R));
  assert.ok(Math.abs(beyondR - n * pR) < 80, `beyond R: ${beyondR} vs ${n * pR}`);
  assert.ok(Math.abs(beyond2 - n * 0.0455003) < 1000, `beyond 2: ${beyond2}`);
});
