import { test } from "node:test";
import assert from "node:assert/strict";
import { physicalBatchSize, samplePoisson, shuffledIndices, splitPhysical, stepsPerEpoch } from "./poisson-sampler.js";
import { createSecureRandom, createSeededRandom } from "./random-source.js";

test("Poisson sampling includes each record with probability q", () => {
  const n = 5000;
  const q = 0.02;
  const trials = 400;
  const random = createSecureRandom();
  const hits = new Uint32Array(n);
  const sizes: number[] = [];
  for (let t = 0; t < trials; t++) {
    const s = samplePoisson(n, q, random);
    sizes.push(s.length);
    for (let i = 1; i < s.length; i++) assert.ok(s[i]! > s[i - 1]!, "sorted and distinct");
    for (const i of s) hits[i]!++;
  }
  const mean = sizes.reduce((a, b) => a + b, 0) / trials;
  const variance = sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / (trials - 1);
  // Binomial(n, q): mean 100, variance 98; the mean of 400 trials has std 0.5.
  assert.ok(Math.abs(mean - n * q) < 2.5, `mean batch size ${mean}`);
  assert.ok(Math.abs(variance - n * q * (1 - q)) < 25, `variance ${variance}`);
  // Inclusion is uniform over positions: first and last fifths get the same share.
  const share = (from: number, to: number) => hits.slice(from, to).reduce((a, b) => a + b, 0) / ((to - from) * trials);
  assert.ok(Math.abs(share(0, 1000) - q) < 0.002 && Math.abs(share(4000, 5000) - q) < 0.002);
});

test("Poisson sampling edge cases and argument checks", () => {
  const r = createSeededRandom(3, "s");
  assert.equal(samplePoisson(0, 0.5, r).length, 0);
  assert.deepEqual(Array.from(samplePoisson(4, 1, r)), [0, 1, 2, 3]);
  assert.throws(() => samplePoisson(10, 0, r), RangeError);
  assert.throws(() => samplePoisson(10, 1.5, r), RangeError);
  assert.deepEqual(samplePoisson(1000, 0.1, createSeededRandom(9, "s")), samplePoisson(1000, 0.1, createSeededRandom(9, "s")));
});

test("shuffledIndices is a permutation; splitPhysical caps sizes; stepsPerEpoch rounds 1/q", () => {
  const p = shuffledIndices(1000, createSecureRandom());
  assert.deepEqual(Array.from(p).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.notDeepEqual(Array.from(p), Array.from({ length: 1000 }, (_, i) => i));
  const chunks = splitPhysical(Uint32Array.from({ length: 10 }, (_, i) => i), 4);
  assert.deepEqual(chunks.map((c) => c.length), [4, 4, 2]);
  assert.equal(stepsPerEpoch(256 / 60000), 234);
  assert.equal(stepsPerEpoch(0.5), 2);
  assert.equal(stepsPerEpoch(1), 1);
});

test("physicalBatchSize covers a Poisson batch with few, evenly filled runs", () => {
  assert.equal(physicalBatchSize("non-private", 1000, 60000, 256), 256);
  assert.equal(physicalBatchSize("non-private", 100, 60000, 256), 100);
  // B 128 of 1438: U = ceil(128 + 4 sqrt(128 * 0.911)) = 172 -> one run of 172.
  assert.equal(physicalBatchSize("dp", 128, 1438, 256), 172);
  // B 2048 of 60000: U = 2226 -> 5 runs of 446 rather than 4 or 5 runs of 512.
  assert.equal(physicalBatchSize("dp", 2048, 60000, 512), 446);
  // Aligned to a multiple of the NCHWc block where that stays within maxBatchSize and the data.
  assert.equal(physicalBatchSize("dp", 2048, 60000, 512, 16), 448);
  assert.equal(physicalBatchSize("dp", 128, 1438, 256, 16), 176);
  assert.equal(physicalBatchSize("dp", 128, 1438, 170, 16), 96);
  assert.equal(physicalBatchSize("dp", 128, 1438, 174, 16), 172);
  assert.equal(physicalBatchSize("dp", 10, 10, 4, 16), 4);
  assert.equal(physicalBatchSize("non-private", 100, 60000, 256, 16), 100);
  assert.equal(physicalBatchSize("dp", 10, 10, 4), 4);
});
