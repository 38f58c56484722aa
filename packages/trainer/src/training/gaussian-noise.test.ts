import { test } from "node:test";
import assert from "node:assert/strict";
import { addGaussianNoise, sampleStandardNormal } from "./gaussian-noise.js";
import { createSecureRandom, createSeededRandom } from "./random-source.js";

function moments(x: ArrayLike<number>): { mean: number; std: number; kurtosis: number } {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i]!;
  mean /= x.length;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  m2 /= x.length;
  m4 /= x.length;
  return { mean, std: Math.sqrt(m2), kurtosis: m4 / (m2 * m2) };
}

test("secure Gaussian noise has mean 0, the requested std and Gaussian tails", () => {
  const n = 400001; // odd: exercises the unpaired last element
  const target = new Float32Array(n).fill(3);
  addGaussianNoise(target, 2.5, createSecureRandom());
  const { mean, std, kurtosis } = moments(target);
  // Standard errors: mean 2.5 / sqrt(n) ~ 0.004, std ~ 2.5 / sqrt(2n) ~ 0.003; kurtosis ~ sqrt(24 / n) ~ 0.008.
  assert.ok(Math.abs(mean - 3) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(std - 2.5) < 0.015, `std ${std}`);
  assert.ok(Math.abs(kurtosis - 3) < 0.05, `kurtosis ${kurtosis}`);
  let within1 = 0;
  for (let i = 0; i < n; i++) if (Math.abs(target[i]! - 3) < 2.5) within1++;
  assert.ok(Math.abs(within1 / n - 0.682689) < 0.004, `P(|z| < 1) = ${within1 / n}`);
});

test("standard normal draws are reproducible with a seeded source", () => {
  const a = sampleStandardNormal(1001, createSeededRandom(1, "noise"));
  const b = sampleStandardNormal(1001, createSeededRandom(1, "noise"));
  assert.deepEqual(a, b);
  const { mean, std } = moments(sampleStandardNormal(200000, createSeededRandom(2, "noise")));
  assert.ok(Math.abs(mean) < 0.01 && Math.abs(std - 1) < 0.01, `mean ${mean} std ${std}`);
});

test("zero std leaves the target unchanged; bad std is a RangeError", () => {
  const t = Float32Array.from([1, 2, 3]);
  addGaussianNoise(t, 0, createSecureRandom());
  assert.deepEqual(Array.from(t), [1, 2, 3]);
  assert.throws(() => addGaussianNoise(t, -1, createSecureRandom()), RangeError);
  assert.throws(() => addGaussianNoise(t, Number.NaN, createSecureRandom()), RangeError);
});
