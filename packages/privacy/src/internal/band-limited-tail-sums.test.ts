import { test } from "node:test";
import assert from "node:assert/strict";
import { createBandLimitedTailSums } from "./band-limited-tail-sums.js";
import { assertClose, seededUniform } from "./test-util.js";

test("tail sums of a band-limited sequence match the inverse DFT summed directly", () => {
  for (const [n, seed] of [
    [16, 1],
    [64, 2],
    [256, 3],
    [1024, 4],
  ] as const) {
    const next = seededUniform(seed);
    // A few bins, always including 0 and the Nyquist bin n/2.
    const frequency = [0, n / 2, 1, 2, 3, Math.floor(n / 3), n / 2 - 1];
    const re = frequency.map(() => next() * 2 - 1);
    const im = frequency.map((k) => (k === 0 || k === n / 2 ? 0 : next() * 2 - 1));
    const dt = 0.01 + next() * 0.5;
    const sums = createBandLimitedTailSums({ size: n, frequency, re, im }, dt);
    // p_j = (1/n) sum over all n bins, the conjugate bin n - k included (Hermitian).
    const p = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let total = 0;
      frequency.forEach((k, b) => {
        const angle = (2 * Math.PI * ((j * k) % n)) / n;
        const term = re[b]! * Math.cos(angle) - im[b]! * Math.sin(angle);
        total += k === 0 || k === n / 2 ? term : 2 * term;
      });
      p[j] = total / n;
    }
    const out = new Float64Array(2);
    let scale = 0;
    for (let j = 0; j < n; j++) scale += Math.abs(p[j]!);
    for (let i = 0; i < n; i++) {
      let mass = 0;
      let scaled = 0;
      for (let j = i; j < n; j++) {
        mass += p[j]!;
        scaled += p[j]! * Math.exp(-(j - i) * dt);
      }
      sums(i, out);
      assertClose(out[0]!, mass, { absolute: 1e-12 * scale }, `n ${n} mass(${i})`);
      assertClose(out[1]!, scaled, { absolute: 1e-12 * scale }, `n ${n} scaled(${i})`);
    }
  }
});

test("a point mass: tail sums are exact steps and powers of exp(-dt)", () => {
  // The spectrum of p = e_5 on n = 32 points, all 17 bins of the real spectrum.
  const n = 32;
  const frequency = Array.from({ length: n / 2 + 1 }, (_, k) => k);
  const re = frequency.map((k) => Math.cos((-2 * Math.PI * 5 * k) / n));
  const im = frequency.map((k) => (k === 0 || k === n / 2 ? 0 : Math.sin((-2 * Math.PI * 5 * k) / n)));
  const sums = createBandLimitedTailSums({ size: n, frequency, re, im }, 0.25);
  const out = new Float64Array(2);
  for (let i = 0; i < n; i++) {
    sums(i, out);
    assertClose(out[0]!, i <= 5 ? 1 : 0, { absolute: 1e-14 }, `mass(${i})`);
    assertClose(out[1]!, i <= 5 ? Math.exp(-(5 - i) * 0.25) : 0, { absolute: 1e-14 }, `scaled(${i})`);
  }
  assert.throws(() => createBandLimitedTailSums({ size: n, frequency: [n], re: [1], im: [0] }, 0.1), RangeError);
});
