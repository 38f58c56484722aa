/**
 * Real-input FFT of a power-of-two length, for the PRV accountant's convolutions, whose
 * only use of a spectrum is pointwise (powers and products). The spectrum is therefore
 * kept in bit-reversed order and no permutation pass is ever made:
 *
 * - forward: the real sequence x of length n is read as the complex sequence
 *   z[k] = x[2k] + i x[2k+1] of length m = n/2 (the same interleaved memory), transformed
 *   by a decimation-in-frequency FFT (natural order in, bit-reversed out), then split into
 *   the bins of X (the "two real transforms for one complex" step), pairing bin k with
 *   bin m - k through a precomputed partner table;
 * - inverse: the same split backwards, then a decimation-in-time FFT (bit-reversed in,
 *   natural order out) gives x directly.
 *
 * Twiddles come from tables computed once per size with Math.cos/Math.sin of exact
 * multiples of 2 pi / n, so their error does not grow with the stage count. Stages are
 * fused in pairs (one memory pass for two stages), and the small ones run block by block
 * so each block stays in cache.
 */

/**
 * Spectrum of a real sequence: n/2 + 1 bins, in plan order (`RealFft.binIndex` gives the
 * frequency of each position; the last position is always the Nyquist bin n/2).
 */
export interface RealSpectrum {
  readonly re: Float64Array;
  readonly im: Float64Array;
}

/** A real FFT plan for one length. */
export interface RealFft {
  readonly size: number;
  /** X[k] = sum_j x[j] exp(-2 pi i j k / n), k = 0..n/2, stored at positions in plan order. */
  forward(x: Float64Array): RealSpectrum;
  /**
   * `forward` without allocating: overwrites `x` (the transform runs in its memory) and
   * writes the n/2 + 1 bins into `out`, so large buffers can be reused across calls.
   */
  forwardInPlace(x: Float64Array, out: RealSpectrum): void;
  /** The inverse of `forward`, normalized: returns x of length n. */
  inverse(spectrum: RealSpectrum): Float64Array;
  /** The frequency k held at `position` of a spectrum. */
  binIndex(position: number): number;
  /** The position of frequency k (0 <= k <= n/2) in a spectrum; the inverse of `binIndex`. */
  positionOf(frequency: number): number;
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
  // Angles pi k / m for k < m, by octant symmetry from a quarter of them: cos and sin of
  // 2 pi k / n are what the split step needs, and every FFT stage's twiddles are a
  // sub-sampling of them.
  const quarterCos = new Float64Array(m / 2 + 1);
  const quarterSin = new Float64Array(m / 2 + 1);
  const eighth = Math.floor(m / 4);
  for (let k = 0; k <= eighth; k++) {
    const angle = (Math.PI * k) / m;
    quarterCos[k] = Math.cos(angle);
    quarterSin[k] = Math.sin(angle);
  }
  for (let k = eighth + 1; k <= m / 2; k++) {
    // angle = pi/2 - pi (m/2 - k) / m
    quarterCos[k] = quarterSin[m / 2 - k]!;
    quarterSin[k] = quarterCos[m / 2 - k]!;
  }
  const cosOf = (k: number): number => (k <= m / 2 ? quarterCos[k]! : -quarterCos[m - k]!);
  const sinOf = (k: number): number => (k <= m / 2 ? quarterSin[k]! : quarterSin[m - k]!);

  // For position p (holding bin k = reverse[p]): cos and sin of 2 pi k / n, and the
  // position of bin (m - k) mod m. The bit-reversal table is built with a reversed counter.
  const reverse = new Uint32Array(m);
  for (let p = 1, r = 0; p < m; p++) {
    let bit = m >> 1;
    while (bit > 0 && (r & bit) !== 0) {
      r ^= bit;
      bit >>= 1;
    }
    r |= bit;
    reverse[p] = r;
  }
  const splitCos = new Float64Array(m);
  const splitSin = new Float64Array(m);
  const partner = new Uint32Array(m);
  // splitCos[p] = cos(2 pi reverse[p] / n): a gather in bit-reversed order, which misses the
  // cache at every element on large sizes (most of a 2^22 plan's cost). Tiled instead (as in
  // Carter and Gatlin's COBRA bit reversal): with p = (hi, mid, lo), hi and lo of `tile` bits,
  // reverse[p] = (rev lo, rev mid, rev hi), so for each mid the 2^(2 tile) reads and writes
  // stay in 2^tile runs of 2^tile contiguous elements. Same values, another order.
  const bits = Math.log2(m);
  const tile = bits >= 14 ? 6 : 0;
  if (tile === 0) {
    for (let p = 0; p < m; p++) {
      splitCos[p] = cosOf(reverse[p]!);
      splitSin[p] = sinOf(reverse[p]!);
    }
  } else {
    const side = 1 << tile;
    const midCount = m >> (2 * tile);
    const hiShift = bits - tile;
    for (let mid = 0; mid < midCount; mid++) {
      const midBase = mid << tile;
      for (let lo = 0; lo < side; lo++) {
        for (let hi = 0; hi < side; hi++) {
          const p = (hi << hiShift) | midBase | lo;
          const k = reverse[p]!;
          splitCos[p] = cosOf(k);
          splitSin[p] = sinOf(k);
        }
      }
    }
  }
  for (let p = 0; p < m; p++) {
    // reverse(m - k) = reverse(~k + 1) = the bit-reversed increment of ~p: no random access.
    let q = (m - 1) ^ p;
    let bit = m >> 1;
    while (bit > 0 && (q & bit) !== 0) {
      q ^= bit;
      bit >>= 1;
    }
    partner[p] = q | bit;
  }
  // Twiddles of each radix-2 stage stored contiguously: the stage of half-span h starts at
  // offset h - 1 and holds cos and sin of pi k / h = pi (k m / h) / m for k < h.
  const stageCos = new Float64Array(Math.max(1, m - 1));
  const stageSin = new Float64Array(Math.max(1, m - 1));
  for (let half = 1; half < m; half *= 2) {
    const stride = m / half;
    for (let k = 0; k < half; k++) {
      stageCos[half - 1 + k] = cosOf(k * stride);
      stageSin[half - 1 + k] = sinOf(k * stride);
    }
  }

  /** One decimation-in-time stage (twiddle, then butterfly) over complex points [from, to). */
  function ditStage(d: Float64Array, half: number, sign: number, from: number, to: number): void {
    const offset = half - 1;
    for (let start = from; start < to; start += 2 * half) {
      for (let k = 0; k < half; k++) {
        const wr = stageCos[offset + k]!;
        const wi = sign * stageSin[offset + k]!;
        const a = 2 * (start + k);
        const b = a + 2 * half;
        const tr = wr * d[b]! - wi * d[b + 1]!;
        const ti = wr * d[b + 1]! + wi * d[b]!;
        const ar = d[a]!;
        const ai = d[a + 1]!;
        d[b] = ar - tr;
        d[b + 1] = ai - ti;
        d[a] = ar + tr;
        d[a + 1] = ai + ti;
      }
    }
  }

  /** DIT stages `half` then `2 half` fused: four points a0..a3 spaced `half` apart. */
  function ditStagePair(d: Float64Array, half: number, sign: number, from: number, to: number): void {
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

  /** One decimation-in-frequency stage (butterfly, then twiddle) over [from, to). */
  function difStage(d: Float64Array, half: number, sign: number, from: number, to: number): void {
    const offset = half - 1;
    for (let start = from; start < to; start += 2 * half) {
      for (let k = 0; k < half; k++) {
        const wr = stageCos[offset + k]!;
        const wi = sign * stageSin[offset + k]!;
        const a = 2 * (start + k);
        const b = a + 2 * half;
        const ar = d[a]!;
        const ai = d[a + 1]!;
        const dr = ar - d[b]!;
        const di = ai - d[b + 1]!;
        d[a] = ar + d[b]!;
        d[a + 1] = ai + d[b + 1]!;
        d[b] = wr * dr - wi * di;
        d[b + 1] = wr * di + wi * dr;
      }
    }
  }

  /** DIF stages `half` then `half / 2` fused: four points a0..a3 spaced `half / 2` apart. */
  function difStagePair(d: Float64Array, half: number, sign: number, from: number, to: number): void {
    const quarter = half / 2;
    const off1 = half - 1;
    const off2 = quarter - 1;
    for (let start = from; start < to; start += 2 * half) {
      for (let k = 0; k < quarter; k++) {
        const w1r = stageCos[off1 + k]!;
        const w1i = sign * stageSin[off1 + k]!;
        const w3r = stageCos[off1 + k + quarter]!;
        const w3i = sign * stageSin[off1 + k + quarter]!;
        const w2r = stageCos[off2 + k]!;
        const w2i = sign * stageSin[off2 + k]!;
        const i0 = 2 * (start + k);
        const i1 = i0 + 2 * quarter;
        const i2 = i1 + 2 * quarter;
        const i3 = i2 + 2 * quarter;
        // stage `half`: pairs (a0, a2) and (a1, a3)
        const b0r = d[i0]! + d[i2]!;
        const b0i = d[i0 + 1]! + d[i2 + 1]!;
        let dr = d[i0]! - d[i2]!;
        let di = d[i0 + 1]! - d[i2 + 1]!;
        const b2r = w1r * dr - w1i * di;
        const b2i = w1r * di + w1i * dr;
        const b1r = d[i1]! + d[i3]!;
        const b1i = d[i1 + 1]! + d[i3 + 1]!;
        dr = d[i1]! - d[i3]!;
        di = d[i1 + 1]! - d[i3 + 1]!;
        const b3r = w3r * dr - w3i * di;
        const b3i = w3r * di + w3i * dr;
        // stage `half / 2`: pairs (b0, b1) and (b2, b3)
        d[i0] = b0r + b1r;
        d[i0 + 1] = b0i + b1i;
        dr = b0r - b1r;
        di = b0i - b1i;
        d[i1] = w2r * dr - w2i * di;
        d[i1 + 1] = w2r * di + w2i * dr;
        d[i2] = b2r + b3r;
        d[i2 + 1] = b2i + b3i;
        dr = b2r - b3r;
        di = b2i - b3i;
        d[i3] = w2r * dr - w2i * di;
        d[i3 + 1] = w2r * di + w2i * dr;
      }
    }
  }

  /** DIT over m points, bit-reversed in, natural order out. */
  function dit(d: Float64Array, sign: number): void {
    const block = Math.min(m, BLOCK);
    const run = (first: number, end: number, from: number, to: number): void => {
      let half = first;
      for (; 4 * half <= end; half *= 4) ditStagePair(d, half, sign, from, to);
      if (half < end) ditStage(d, half, sign, from, to);
    };
    for (let from = 0; from < m; from += block) run(1, block, from, from + block);
    run(block, m, 0, m);
  }

  /** DIF over m points, natural order in, bit-reversed out. */
  function dif(d: Float64Array, sign: number): void {
    const block = Math.min(m, BLOCK);
    // Stages half = top, top/2, ..., down to `last` inclusive, two at a time.
    const run = (top: number, last: number, from: number, to: number): void => {
      let half = top;
      for (; half / 2 >= last; half /= 4) difStagePair(d, half, sign, from, to);
      if (half >= last) difStage(d, half, sign, from, to);
    };
    if (m > block) run(m / 2, block, 0, m);
    if (block > 1) for (let from = 0; from < m; from += block) run(block / 2, 1, from, from + block);
  }

  function forward(x: Float64Array): RealSpectrum {
    if (x.length !== n) throw new RangeError(`FFT input must have length ${n}, got ${x.length}`);
    const out = { re: new Float64Array(m + 1), im: new Float64Array(m + 1) };
    forwardInPlace(Float64Array.from(x), out);
    return out;
  }

  function forwardInPlace(z: Float64Array, out: RealSpectrum): void {
    if (z.length !== n) throw new RangeError(`FFT input must have length ${n}, got ${z.length}`);
    const { re, im } = out;
    if (re.length !== m + 1 || im.length !== m + 1) throw new RangeError(`spectrum must have ${m + 1} bins, got ${re.length}`);
    // z[k] = x[2k] + i x[2k+1]: the real input read as interleaved complex numbers.
    dif(z, -1); // position p now holds Z[reverse[p]]
    for (let p = 0; p < m; p++) {
      const a = 2 * p;
      const b = 2 * partner[p]!;
      // Even part E = (Z[k] + conj Z[m-k]) / 2, odd part O = (Z[k] - conj Z[m-k]) / (2i).
      const er = 0.5 * (z[a]! + z[b]!);
      const ei = 0.5 * (z[a + 1]! - z[b + 1]!);
      const or = 0.5 * (z[a + 1]! + z[b + 1]!);
      const oi = -0.5 * (z[a]! - z[b]!);
      // X[k] = E + exp(-2 pi i k / n) O
      const c = splitCos[p]!;
      const s = -splitSin[p]!;
      re[p] = er + c * or - s * oi;
      im[p] = ei + c * oi + s * or;
    }
    re[m] = z[0]! - z[1]!; // X[n/2] = E[0] - O[0], real
    im[m] = 0;
  }

  function inverse(spectrum: RealSpectrum): Float64Array {
    const { re, im } = spectrum;
    if (re.length !== m + 1 || im.length !== m + 1) {
      throw new RangeError(`spectrum must have ${m + 1} bins, got ${re.length}`);
    }
    const z = new Float64Array(n);
    for (let p = 0; p < m; p++) {
      const q = p === 0 ? m : partner[p]!; // bin m - k; for k = 0 the Nyquist bin
      const xr1 = re[p]!;
      const xi1 = im[p]!;
      const xr2 = re[q]!; // conj(X[m - k])
      const xi2 = -im[q]!;
      const er = 0.5 * (xr1 + xr2);
      const ei = 0.5 * (xi1 + xi2);
      // O = (X[k] - conj X[m-k]) / 2 * exp(+2 pi i k / n)
      const dr = 0.5 * (xr1 - xr2);
      const di = 0.5 * (xi1 - xi2);
      const c = splitCos[p]!;
      const s = splitSin[p]!;
      const or = dr * c - di * s;
      const oi = dr * s + di * c;
      // Z = E + i O, at the bit-reversed position the DIT expects
      z[2 * p] = er - oi;
      z[2 * p + 1] = ei + or;
    }
    dit(z, 1);
    // z[k] = x[2k] + i x[2k+1]: the interleaved buffer is x, up to the 1/m scale.
    const scale = 1 / m;
    for (let j = 0; j < n; j++) z[j]! *= scale;
    return z;
  }

  return { size: n, forward, forwardInPlace, inverse, binIndex: (position) => (position >= m ? m : reverse[position]!),
    // Bit reversal is an involution, so the same table maps back.
    positionOf: (frequency) => (frequency >= m ? m : reverse[frequency]!),
  };
}
