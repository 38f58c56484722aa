/**
 * Real-input FFT of a power-of-two length, for the PRV accountant's convolutions.
 *
 * A real sequence x of length n is read as the complex sequence z[k] = x[2k] + i x[2k+1]
 * of length m = n/2 (the same memory, interleaved), transformed with an iterative radix-2
 * Cooley-Tukey FFT, and split into the n/2 + 1 non-redundant bins of X (the usual "two
 * real transforms for one complex" step). Twiddles come from tables computed once per size
 * with Math.cos/Math.sin of exact multiples of 2 pi / n, so their error does not grow with
 * the stage count. Small stages run block by block so each block stays in cache.
 */

/** Spectrum of a real sequence: bins 0..n/2 (the rest follow by conjugate symmetry). */
export interface RealSpectrum {
  readonly re: Float64Array;
  readonly im: Float64Array;
}

/** A real FFT plan for one length. */
export interface RealFft {
  readonly size: number;
  /** X[k] = sum_j x[j] exp(-2 pi i j k / n), k = 0..n/2. */
  forward(x: Float64Array): RealSpectrum;
  /** The inverse of `forward`, normalized: returns x of length n. */
  inverse(spectrum: RealSpectrum): Float64Array;
}

/** Complex points per cache block (2^13 points: 128 KiB interleaved). */
const BLOCK = 8192;

/** Creates a plan for real sequences of length `size`, a power of two >= 4. */
export function createRealFft(size: number): RealFft {
  if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0 || size > 2 ** 30) {
    throw new RangeError(`FFT size must be a power of two in [4, 2^30], got ${size}`);
  }
  const n = size;
  const m = n / 2;
  // cos/sin(2 pi k / n) for k < n/2, for the real split step.
  const cosTable = new Float64Array(m);
  const sinTable = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const angle = (2 * Math.PI * k) / n;
    cosTable[k] = Math.cos(angle);
    sinTable[k] = Math.sin(angle);
  }
  // Twiddles of each radix-2 stage stored contiguously: the stage of half-span h starts at
  // offset h - 1 and holds cos and sin of 2 pi k / (2h) for k < h.
  const stageCos = new Float64Array(Math.max(1, m - 1));
  const stageSin = new Float64Array(Math.max(1, m - 1));
  for (let half = 1; half < m; half *= 2) {
    const stride = n / (2 * half);
    for (let k = 0; k < half; k++) {
      stageCos[half - 1 + k] = cosTable[k * stride]!;
      stageSin[half - 1 + k] = sinTable[k * stride]!;
    }
  }
  const bitReverse = buildBitReverse(m);

  /** Radix-2 butterflies of one stage over complex points [from, to) of interleaved d. */
  function stage(d: Float64Array, half: number, sign: number, from: number, to: number): void {
    const offset = half - 1;
    for (let start = from; start < to; start += 2 * half) {
      for (let k = 0; k < half; k++) {
        const wr = stageCos[offset + k]!;
        const wi = sign * stageSin[offset + k]!;
        const a = 2 * (start + k);
        const b = a + 2 * half;
        const br = d[b]!;
        const bi = d[b + 1]!;
        const tr = wr * br - wi * bi;
        const ti = wr * bi + wi * br;
        const ar = d[a]!;
        const ai = d[a + 1]!;
        d[b] = ar - tr;
        d[b + 1] = ai - ti;
        d[a] = ar + tr;
        d[a + 1] = ai + ti;
      }
    }
  }

  /**
   * Stages `half` and `2 half` fused into one pass over the data: each group of four points
   * a0..a3 (spaced `half` apart) gets the first stage's butterflies (a0,a1), (a2,a3) and then
   * the second's (a0,a2), (a1,a3). The arithmetic is exactly that of the two stages, with
   * half the memory traffic.
   */
  function stagePair(d: Float64Array, half: number, sign: number, from: number, to: number): void {
    const off1 = half - 1;
    const off2 = 2 * half - 1;
    for (let start = from; start < to; start += 4 * half) {
      for (let k = 0; k < half; k++) {
        const w1r = stageCos[off1 + k]!;
        const w1i = sign * stageSin[off1 + k]!;
        const w2r = stageCos[off2 + k]!;
        const w2i = sign * stageSin[off2 + k]!;
        const w3r = stageCos[off2 + k + half]!;
        const w3i = sign * stageSin[off2 + k + half]!;
        const i0 = 2 * (start + k);
        const i1 = i0 + 2 * half;
        const i2 = i1 + 2 * half;
        const i3 = i2 + 2 * half;
        // first stage
        let tr = w1r * d[i1]! - w1i * d[i1 + 1]!;
        let ti = w1r * d[i1 + 1]! + w1i * d[i1]!;
        const b1r = d[i0]! - tr;
        const b1i = d[i0 + 1]! - ti;
        const b0r = d[i0]! + tr;
        const b0i = d[i0 + 1]! + ti;
        tr = w1r * d[i3]! - w1i * d[i3 + 1]!;
        ti = w1r * d[i3 + 1]! + w1i * d[i3]!;
        const b3r = d[i2]! - tr;
        const b3i = d[i2 + 1]! - ti;
        const b2r = d[i2]! + tr;
        const b2i = d[i2 + 1]! + ti;
        // second stage
        tr = w2r * b2r - w2i * b2i;
        ti = w2r * b2i + w2i * b2r;
        d[i2] = b0r - tr;
        d[i2 + 1] = b0i - ti;
        d[i0] = b0r + tr;
        d[i0 + 1] = b0i + ti;
        tr = w3r * b3r - w3i * b3i;
        ti = w3r * b3i + w3i * b3r;
        d[i3] = b1r - tr;
        d[i3 + 1] = b1i - ti;
        d[i1] = b1r + tr;
        d[i1 + 1] = b1i + ti;
      }
    }
  }

  /** Runs the stages half = first, 2 first, ... below `end` over [from, to), two at a time. */
  function stages(d: Float64Array, first: number, end: number, sign: number, from: number, to: number): void {
    let half = first;
    for (; 4 * half <= end; half *= 4) stagePair(d, half, sign, from, to);
    if (half < end) stage(d, half, sign, from, to);
  }

  /** In-place complex FFT of m interleaved points; sign -1 forward, +1 inverse (unnormalized). */
  function complexFft(d: Float64Array, sign: number): void {
    for (let i = 0; i < m; i++) {
      const j = bitReverse[i]!;
      if (j > i) {
        const tr = d[2 * i]!;
        const ti = d[2 * i + 1]!;
        d[2 * i] = d[2 * j]!;
        d[2 * i + 1] = d[2 * j + 1]!;
        d[2 * j] = tr;
        d[2 * j + 1] = ti;
      }
    }
    const block = Math.min(m, BLOCK);
    for (let from = 0; from < m; from += block) stages(d, 1, block, sign, from, from + block);
    stages(d, block, m, sign, 0, m);
  }

  function forward(x: Float64Array): RealSpectrum {
    if (x.length !== n) throw new RangeError(`FFT input must have length ${n}, got ${x.length}`);
    const z = Float64Array.from(x); // z[k] = x[2k] + i x[2k+1], interleaved
    complexFft(z, -1);
    const re = new Float64Array(m + 1);
    const im = new Float64Array(m + 1);
    for (let k = 0; k <= m; k++) {
      const k1 = 2 * (k % m);
      const k2 = 2 * ((m - k) % m);
      // Even part E = (Z[k] + conj Z[m-k]) / 2, odd part O = (Z[k] - conj Z[m-k]) / (2i).
      const er = 0.5 * (z[k1]! + z[k2]!);
      const ei = 0.5 * (z[k1 + 1]! - z[k2 + 1]!);
      const or = 0.5 * (z[k1 + 1]! + z[k2 + 1]!);
      const oi = -0.5 * (z[k1]! - z[k2]!);
      // X[k] = E + exp(-2 pi i k / n) O
      const c = k < m ? cosTable[k]! : -1;
      const s = k < m ? -sinTable[k]! : 0;
      re[k] = er + c * or - s * oi;
      im[k] = ei + c * oi + s * or;
    }
    return { re, im };
  }

  function inverse(spectrum: RealSpectrum): Float64Array {
    const { re, im } = spectrum;
    if (re.length !== m + 1 || im.length !== m + 1) {
      throw new RangeError(`spectrum must have ${m + 1} bins, got ${re.length}`);
    }
    const z = new Float64Array(n);
    for (let k = 0; k < m; k++) {
      const xr1 = re[k]!;
      const xi1 = im[k]!;
      const xr2 = re[m - k]!; // conj(X[m - k])
      const xi2 = -im[m - k]!;
      const er = 0.5 * (xr1 + xr2);
      const ei = 0.5 * (xi1 + xi2);
      // O = (X[k] - conj X[m-k]) / 2 * exp(+2 pi i k / n)
      const dr = 0.5 * (xr1 - xr2);
      const di = 0.5 * (xi1 - xi2);
      const c = cosTable[k]!;
      const s = sinTable[k]!;
      const or = dr * c - di * s;
      const oi = dr * s + di * c;
      // Z = E + i O
      z[2 * k] = er - oi;
      z[2 * k + 1] = ei + or;
    }
    complexFft(z, 1);
    // z[k] = x[2k] + i x[2k+1]: the interleaved buffer is x, up to the 1/m scale.
    const scale = 1 / m;
    for (let j = 0; j < n; j++) z[j]! *= scale;
    return z;
  }

  return { size: n, forward, inverse };
}

function buildBitReverse(m: number): Uint32Array {
  const bits = Math.round(Math.log2(m));
  const table = new Uint32Array(m);
  for (let i = 0; i < m; i++) {
    let r = 0;
    for (let b = 0, v = i; b < bits; b++, v >>= 1) r = (r << 1) | (v & 1);
    table[i] = r >>> 0;
  }
  return table;
}
