import { test } from "node:test";
import assert from "node:assert/strict";
import { certifiedBandLimit, lowFrequencySpectrum } from "./low-frequency-spectrum.js";
import { createRealFft } from "./fft.js";
import { discretize } from "./prv-discretize.js";
import { planPrvGrid } from "./prv-grid.js";
import { assertClose, seededUniform } from "./test-util.js";

/** Y_k = sum_j p_j e^{-2 pi i k (j - center) / n} by the definition, angles reduced exactly. */
function directDft(pmf: Float64Array, k: number, center: number): [number, number] {
  const n = pmf.length;
  let re = 0;
  let im = 0;
  for (let j = 0; j < n; j++) {
    if (pmf[j] === 0) continue;
    const angle = (2 * Math.PI * ((((k * (j - center)) % n) + n) % n)) / n;
    re += pmf[j]! * Math.cos(angle);
    im -= pmf[j]! * Math.sin(angle);
  }
  return [re, im];
}

test("low-frequency bins match the direct DFT on random sparse input (1e-12 relative)", () => {
  for (const [n, maxBin, seed] of [
    [1024, 7, 1],
    [4096, 40, 2],
    [16384, 100, 3],
  ] as const) {
    const next = seededUniform(seed);
    const pmf = new Float64Array(n);
    // A bump near the centre, a long thin tail, a few isolated points (one at each end).
    for (let j = n / 2 - 50; j < n / 2 + 400; j++) pmf[j] = next();
    for (let j = n / 2 + 400; j < n - 100; j += 3) pmf[j] = next() * 1e-9;
    pmf[0] = 0.01;
    pmf[n - 1] = 0.02;
    let total = 0;
    for (const p of pmf) total += p;
    for (let j = 0; j < n; j++) pmf[j]! /= total;
    const center = n / 2 - 1;
    const re = new Float64Array(maxBin + 1);
    const im = new Float64Array(maxBin + 1);
    lowFrequencySpectrum(pmf, maxBin, center, re, im);
    for (let k = 0; k <= maxBin; k++) {
      const [er, ei] = directDft(pmf, k, center);
      assertClose(re[k]!, er, { absolute: 1e-12 }, `n ${n} re[${k}]`);
      assertClose(im[k]!, ei, { absolute: 1e-12 }, `n ${n} im[${k}]`);
    }
  }
});

test("a PRV's certified band limit holds: every higher bin is below tau, and lower ones agree with the FFT to 1e-14", () => {
  const mechanism = { noiseMultiplier: 1, sampleRate: 0.001, steps: 200_000 };
  const grid = planPrvGrid([mechanism], 0.05, 1e-8, 2 ** 18);
  const { pmf } = discretize(mechanism, grid.size, grid.dt, grid.tMin);
  const tau = Math.exp(-746 / mechanism.steps);
  const { maxBin, support } = certifiedBandLimit(pmf, tau);
  assert.ok(Number.isFinite(maxBin) && maxBin < grid.size / 64, `maxBin ${maxBin}`);
  assert.ok(support > 0 && support < grid.size);
  const fft = createRealFft(grid.size);
  const spectrum = fft.forward(pmf);
  const center = grid.size / 2 - 1;
  const re = new Float64Array(maxBin + 1);
  const im = new Float64Array(maxBin + 1);
  lowFrequencySpectrum(pmf, maxBin, center, re, im);
  let survivors = 0;
  for (let k = 0; k <= grid.size / 2; k++) {
    const position = fft.positionOf(k);
    assert.equal(fft.binIndex(position), k);
    const x = spectrum.re[position]!;
    const y = spectrum.im[position]!;
    if (k > maxBin) {
      assert.ok(Math.hypot(x, y) < tau, `bin ${k}: |X| ${Math.hypot(x, y)} >= tau ${tau}`);
      continue;
    }
    if (Math.hypot(x, y) >= tau) survivors++;
    // The FFT's bin, centred on t = 0 like the low-frequency one.
    const angle = (2 * Math.PI * ((k * center) % grid.size)) / grid.size;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    assertClose(re[k]!, x * c - y * s, { absolute: 1e-14 }, `re[${k}]`);
    assertClose(im[k]!, x * s + y * c, { absolute: 1e-14 }, `im[${k}]`);
  }
  assert.ok(survivors > 5, `${survivors} bins survive`);
});

test("no certificate for a point mass (its spectrum never decays)", () => {
  const pmf = new Float64Array(1024);
  pmf[500] = 1;
  assert.equal(certifiedBandLimit(pmf, 0.999).maxBin, Infinity);
  assert.equal(certifiedBandLimit(new Float64Array(1024), 0.999).maxBin, Infinity);
});
