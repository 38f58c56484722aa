/**
 * Tail sums of a real sequence given by a few bins of its spectrum, without an inverse FFT.
 *
 * After N-fold composition almost every bin of the PRV's spectrum underflows (|X_k|^N <
 * e^-746; at 10^6 steps about a hundred bins of millions survive), so the composed PMF
 *   p_i = (1/n) sum_k D_k z_k^i,  z_k = exp(2 pi i k / n),
 * is a trigonometric polynomial of low degree. The PRV's delta curve only needs, at the
 * few grid points its binary search visits, the tail sums
 *   mass(i)   = sum_{j=i}^{n-1} p_j                 (Opacus's d1)
 *   scaled(i) = sum_{j=i}^{n-1} p_j r^(j - i),  r = exp(-dt)   (e^{t_i} times Opacus's d2),
 * and each term of p contributes a geometric sum in closed form:
 *   sum_{j>=i} z^j         = (z^i - 1) / (1 - z)               (k != 0; z^n = 1)
 *   sum_{j>=i} z^j r^(j-i) = (z^i - r^(n-i)) / (1 - z r).
 * Both are evaluated without cancellation: z^i - 1 = 2i sin(phi/2) e^{i phi/2} with
 * phi = 2 pi (i k mod n) / n reduced exactly in integers, 1 - z = -2i sin(theta/2)
 * e^{i theta/2}, and 1 - z r = -expm1(-dt + i theta) split into expm1 and sin^2 terms. The
 * absolute error is a few ulps times sum_k |D_k| |geometric sum| / n, smaller than the
 * round-off of an inverse FFT followed by running sums over n points.
 */

/** Spectrum bins k in [0, n/2] (Hermitian: bin n - k is the conjugate of bin k). */
export interface SparseSpectrum {
  readonly size: number;
  readonly frequency: Int32Array | readonly number[];
  readonly re: Float64Array | readonly number[];
  readonly im: Float64Array | readonly number[];
}

/** Evaluates the two tail sums at index i; writes mass(i) to out[0] and scaled(i) to out[1]. */
export type TailSums = (i: number, out: Float64Array) => void;

/**
 * Tail sums of the real sequence whose spectrum is `spectrum` (every bin not listed is 0),
 * for a grid of mesh `dt` (r = exp(-dt)).
 */
export function createBandLimitedTailSums(spectrum: SparseSpectrum, dt: number): TailSums {
  const n = spectrum.size;
  const count = spectrum.frequency.length;
  const half = n / 2;
  const expm1Dt = Math.expm1(-dt); // r - 1
  const r = 1 + expm1Dt;
  // Per bin constants: D_k, -1 / sin(theta/2) with e^{-i theta/2}, and 1 / (1 - z r).
  const k = new Float64Array(count);
  const dRe = new Float64Array(count);
  const dIm = new Float64Array(count);
  const weight = new Float64Array(count); // 2 for paired bins, 1 for k = 0 and k = n/2
  const g1Scale = new Float64Array(count);
  const g1Re = new Float64Array(count);
  const g1Im = new Float64Array(count);
  const invDenRe = new Float64Array(count);
  const invDenIm = new Float64Array(count);
  for (let b = 0; b < count; b++) {
    const freq = spectrum.frequency[b]!;
    if (!Number.isInteger(freq) || freq < 0 || freq > half) throw new RangeError(`frequency ${freq} outside [0, ${half}]`);
    k[b] = freq;
    dRe[b] = spectrum.re[b]!;
    dIm[b] = spectrum.im[b]!;
    weight[b] = freq === 0 || freq === half ? 1 : 2;
    const halfTheta = (Math.PI * freq) / n;
    const sinHalf = Math.sin(halfTheta);
    if (freq !== 0) {
      g1Scale[b] = -1 / sinHalf;
      g1Re[b] = Math.cos(halfTheta);
      g1Im[b] = -sinHalf;
    }
    // 1 - z r = -(r cos theta - 1) - i r sin theta, with r cos theta - 1 = expm1(-dt) cos theta - 2 sin^2(theta/2).
    const theta = 2 * halfTheta;
    const denRe = -(expm1Dt * Math.cos(theta) - 2 * sinHalf * sinHalf);
    const denIm = -r * Math.sin(theta);
    const norm = denRe * denRe + denIm * denIm;
    invDenRe[b] = denRe / norm;
    invDenIm[b] = -denIm / norm;
  }

  return function tailSums(i: number, out: Float64Array): void {
    const remaining = n - i;
    const oneMinusRho = -Math.expm1(-remaining * dt); // 1 - r^(n-i)
    let mass = 0;
    let scaled = 0;
    for (let b = 0; b < count; b++) {
      const freq = k[b]!;
      // phi / 2 = pi (i k mod n) / n, reduced exactly (i k < 2^53).
      const halfPhi = (Math.PI * ((i * freq) % n)) / n;
      const c = Math.cos(halfPhi);
      const s = Math.sin(halfPhi);
      let m1Re: number;
      let m1Im: number;
      if (freq === 0) {
        m1Re = remaining;
        m1Im = 0;
      } else {
        // -(sin(phi/2) / sin(theta/2)) e^{i (phi - theta)/2}
        const scale = s * g1Scale[b]!;
        m1Re = scale * (c * g1Re[b]! - s * g1Im[b]!);
        m1Im = scale * (c * g1Im[b]! + s * g1Re[b]!);
      }
      // (z^i - r^(n-i)) / (1 - z r), with z^i - r^(n-i) = (z^i - 1) + (1 - r^(n-i)).
      const numRe = oneMinusRho - 2 * s * s;
      const numIm = 2 * s * c;
      const m2Re = numRe * invDenRe[b]! - numIm * invDenIm[b]!;
      const m2Im = numRe * invDenIm[b]! + numIm * invDenRe[b]!;
      const w = weight[b]!;
      const re = dRe[b]!;
      const im = dIm[b]!;
      mass += w * (re * m1Re - im * m1Im);
      scaled += w * (re * m2Re - im * m2Im);
    }
    out[0] = mass / n;
    out[1] = scaled / n;
  };
}
