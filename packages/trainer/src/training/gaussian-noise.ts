import type { RandomSource } from "./random-source.js";
import { ZIGGURAT_R, ZIGGURAT_X, ZIGGURAT_Y } from "./ziggurat.js";

/** Uniforms drawn per refill of the noise loop. */
const CHUNK = 8192;

/** 2^-52. */
const TWO_POW_MINUS_52 = 1 / 4503599627370496;

/**
 * Adds N(0, std^2) to every element of `target`, in place: standard normals from
 * {@link sampleStandardNormalInto} (exact Ziggurat, float64), scaled and added in float64, and
 * each noisy value rounded to float32 once. For DP noise `random` must be the OS CSPRNG
 * ({@link createSecureRandom}): DP-SGD's guarantee assumes nobody can predict the noise.
 * Known limit of every floating-point sampler: the output lives on the float32 grid (Mironov,
 * CCS 2012; Jin et al., S&P 2022 study such effects).
 */
export function addGaussianNoise(target: Float32Array, std: number, random: RandomSource): void {
  if (!(std >= 0) || !Number.isFinite(std)) throw new RangeError(`std must be a finite number >= 0, got ${std}`);
  if (std === 0) return;
  const z = new Float64Array(Math.min(CHUNK, target.length));
  for (let start = 0; start < target.length; start += z.length) {
    const n = Math.min(z.length, target.length - start);
    const view = n === z.length ? z : z.subarray(0, n);
    sampleStandardNormalInto(view, random);
    for (let i = 0; i < n; i++) target[start + i] = target[start + i]! + std * view[i]!;
  }
}

/** Standard normal draws into a new Float64Array (same sampler as {@link addGaussianNoise}). */
export function sampleStandardNormal(count: number, random: RandomSource): Float64Array {
  const out = new Float64Array(count);
  sampleStandardNormalInto(out, random);
  return out;
}

/**
 * The Ziggurat's slow path (about 1.5 % of draws), kept out of the hot loop: the tail beyond R
 * for layer 0 (Marsaglia 1964: t = -ln(U1) / R, e = -ln(U2), accept when 2e >= t^2; returns
 * R + t), else the wedge test y < f(x) with y uniform in [Y[i], Y[i + 1]] (returns x, or NaN
 * when rejected).
 */
function outsideBox(layer: number, x: number, random: RandomSource): number {
  if (layer === 0) {
    let t: number;
    let e: number;
    do {
      t = -Math.log(random.nextOpenUnit()) / ZIGGURAT_R;
      e = -Math.log(random.nextOpenUnit());
    } while (e + e < t * t);
    return ZIGGURAT_R + t;
  }
  const y = ZIGGURAT_Y[layer]! + random.nextOpenUnit() * (ZIGGURAT_Y[layer + 1]! - ZIGGURAT_Y[layer]!);
  return y < Math.exp(-0.5 * x * x) ? x : Number.NaN;
}

/**
 * Overwrites `out` with standard normal draws by the Ziggurat method (Marsaglia and Tsang 2000,
 * 256 layers, float64). This is the noise path of DP training (the noise worker): about 3x
 * faster than the polar method (Box-Muller without trigonometry) and 3x faster than Box-Muller,
 * which matters because noise costs O(parameters) per step: about 6 ns per draw here.
 * Each draw takes two 32-bit words: 8 bits pick the layer, 1 bit the sign, 52 bits the position
 * (x = u * X[i], u uniform on a 2^-52 grid). About 99 % of draws are accepted at once (x inside
 * the layer's box under the curve); the rest test the wedge against f or sample the tail beyond
 * R = 3.654 by Marsaglia's exponential method, with fresh 53-bit uniforms. The rare slow path
 * depends only on the draw itself, and the worker draws a whole step's noise ahead of time, so
 * its timing says nothing about the gradient being released.
 */
export function sampleStandardNormalInto(out: Float64Array, random: RandomSource): void {
  const X = ZIGGURAT_X;
  const words = new Uint32Array(2 * CHUNK);
  let k = words.length;
  const n = out.length;
  for (let i = 0; i < n; ) {
    if (k === words.length) {
      random.fillUint32(words);
      k = 0;
    }
    const a = words[k]!;
    const b = words[k + 1]!;
    k += 2;
    const layer = a & 255;
    const u = ((a >>> 9) * 536870912 + (b >>> 3)) * TWO_POW_MINUS_52;
    const x = u * X[layer]!;
    let z = x;
    if (x >= X[layer + 1]!) {
      z = outsideBox(layer, x, random);
      if (z !== z) continue; // NaN: rejected in the wedge, draw again from scratch
    }
    // Sign from bit 8, applied without a branch: a data-dependent branch on random bits is
    // mispredicted half the time and made this loop twice as slow.
    out[i++] = z * (1 - ((a >>> 7) & 2));
  }
}
