import type { RandomSource } from "./random-source.js";

/**
 * Adds N(0, std^2) to every element of `target`, in place.
 *
 * Why Box-Muller in float64 (and not a Ziggurat): it is an exact transform with no tables and a
 * fixed number of uniforms per pair (no value-dependent rejection loop, so the running time does
 * not depend on the noise drawn), and float64 with 53-bit uniforms keeps the sampled
 * distribution close to the true Gaussian far below float32 resolution. Each noisy value is
 * computed in float64 and rounded to float32 once. The uniforms come from `random`, which for
 * DP noise must be the OS CSPRNG ({@link createSecureRandom}): DP-SGD's guarantee assumes the
 * adversary cannot predict the noise. Known limit: like every floating-point sampler the tails
 * are truncated (|z| <= sqrt(-2 ln 2^-54) ~ 8.7 standard deviations) and the output grid is
 * that of float32 (Mironov, CCS 2012; Jin et al., S&P 2022 study such effects).
 */
export function addGaussianNoise(target: Float32Array, std: number, random: RandomSource): void {
  if (!(std >= 0) || !Number.isFinite(std)) throw new RangeError(`std must be a finite number >= 0, got ${std}`);
  if (std === 0) return;
  const n = target.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(random.nextOpenUnit())) * std;
    const theta = 2 * Math.PI * random.nextOpenUnit();
    target[i] = target[i]! + r * Math.cos(theta);
    target[i + 1] = target[i + 1]! + r * Math.sin(theta);
  }
  if (i < n) {
    const r = Math.sqrt(-2 * Math.log(random.nextOpenUnit())) * std;
    target[i] = target[i]! + r * Math.cos(2 * Math.PI * random.nextOpenUnit());
  }
}

/** Standard normal draws into a new Float64Array (for statistics and initialization). */
export function sampleStandardNormal(count: number, random: RandomSource): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(random.nextOpenUnit()));
    const theta = 2 * Math.PI * random.nextOpenUnit();
    out[i] = r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}
