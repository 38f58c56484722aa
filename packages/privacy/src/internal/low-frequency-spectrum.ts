/**
 * The lowest bins of a PMF's spectrum, without an FFT, and a proof that every other bin
 * vanishes after N-fold composition.
 *
 * After 10^6 steps only about a hundred of the 4 million bins of the PRV's spectrum
 * survive |X_k|^N >= e^-746. Two pieces let the accountant compute just those:
 *
 * - `certifiedBandLimit`: a bound on |X_k| for all high k. If p >= alpha u pointwise, u
 *   the uniform PMF on a window of W points, then p = alpha u + (mass - alpha) r with r a
 *   PMF, so |X_k| <= (mass - alpha) + alpha D(k), D(k) = |sin(pi k W / n)| /
 *   (W sin(pi k / n)) (Dirichlet kernel). D decreases on its main lobe k < n / W and is at
 *   most n / (2 W k) <= 1/2 beyond it (sin x >= 2x / pi). So every k above the first main-
 *   lobe point where the bound drops below tau = exp(-746 / N) has |X_k|^N < e^-746.
 * - `lowFrequencySpectrum`: X_k for k = 0..K of the PMF centred at index c (Y_k = sum_j p_j
 *   e^{-2 pi i k (j - c) / n}, the phase the composition needs), by blocks of B points:
 *   within a block e^{-i a v} (|a| <= 1/2, v in [-1, 1]) is its Taylor series to 16 terms
 *   (error below 2^-60 of the block's mass), so each block contributes through 16 moments,
 *   and block offsets are exact table twiddles. The cost is about 32 flops per nonzero
 *   point plus 30 per (block, bin), against an FFT's 5 n log2 n / 2.
 */

/** Taylor terms per block: (1/2)^16 / 16! < 1e-18. */
const TERMS = 16;
/** Largest |a| = pi K B / n: the block size is chosen to keep it here. */
const MAX_PHASE = 0.5;

/**
 * `maxBin`: the smallest K such that every bin k in (K, n/2] of `pmf`'s spectrum satisfies
 * |X_k| < tau, or Infinity when the bound cannot show it (then compute every bin);
 * `support`: the number of nonzero points.
 */
export function certifiedBandLimit(pmf: Float64Array, tau: number): { maxBin: number; support: number } {
  const n = pmf.length;
  let mass = 0;
  let peak = 0;
  let peakAt = -1;
  let support = 0;
  for (let j = 0; j < n; j++) {
    const p = pmf[j]!;
    if (p !== 0) support++;
    // |p|: rounding can leave tiny negative entries, which the bound must count.
    mass += Math.abs(p);
    if (p > peak) {
      peak = p;
      peakAt = j;
    }
  }
  if (peakAt < 0) return { maxBin: Infinity, support };
  // Rounded up a little, so rounding cannot help the bound.
  const total = mass * (1 + 1e-12);
  // Windows around the peak where p stays above a fraction of it: a wider window gives a
  // narrower main lobe, a higher floor a larger alpha; keep the best.
  let best = Infinity;
  for (const fraction of [0.5, 0.25, 0.1, 0.03]) {
    let from = peakAt;
    let to = peakAt + 1;
    while (from > 0 && pmf[from - 1]! >= peak * fraction) from--;
    while (to < n && pmf[to]! >= peak * fraction) to++;
    const width = to - from;
    let lowest = peak;
    for (let j = from; j < to; j++) lowest = Math.min(lowest, pmf[j]!);
    best = Math.min(best, mainLobeBound(n, width, width * lowest * (1 - 1e-12), total, tau));
  }
  return { maxBin: best, support };
}

/**
 * With p >= (alpha / width) on a window of `width` points and sum |p| <= total: the
 * largest k at which (total - alpha) + alpha D(k) < tau may fail, or Infinity.
 */
function mainLobeBound(n: number, width: number, alpha: number, total: number, tau: number): number {
  // Need (total - alpha) + alpha D(k) < tau, i.e. D(k) < gamma.
  const gamma = (tau - (total - alpha)) / alpha;
  if (!(gamma > 0.5) || width < 2) return Infinity;
  const dirichlet = (k: number): number => Math.abs(Math.sin((Math.PI * k * width) / n)) / (width * Math.sin((Math.PI * k) / n));
  // D is decreasing on the main lobe (0, n / width): bisect for the first k with D(k) < gamma.
  let lo = 0; // D(lo) >= gamma (D(0) = 1)
  let hi = Math.ceil(n / width); // D(hi) < gamma (at or past the first zero, and every k beyond is <= 1/2)
  if (hi >= n / 2) return Infinity;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (dirichlet(mid) < gamma) hi = mid;
    else lo = mid;
  }
  return lo;
}

/** Block size for bins 0..maxBin on n points: the largest power of two with pi K B / n <= 1/2. */
export function lowFrequencyBlockSize(n: number, maxBin: number): number {
  let block = 1;
  while ((Math.PI * Math.max(1, maxBin) * block * 2) / n <= MAX_PHASE && block * 2 <= n) block *= 2;
  return block;
}

/** Flops of `lowFrequencySpectrum` for a PMF with `support` nonzero points, for choosing it over an FFT. */
export function lowFrequencyCost(n: number, maxBin: number, support: number): number {
  const block = lowFrequencyBlockSize(n, maxBin);
  return 2 * TERMS * support + (30 * (Math.ceil(support / block) + 1) * (maxBin + 1));
}

/**
 * Y_k = sum_j pmf[j] e^{-2 pi i k (j - center) / n} for k = 0..maxBin, written to re[k], im[k].
 */
export function lowFrequencySpectrum(pmf: Float64Array, maxBin: number, center: number, re: Float64Array, im: Float64Array): void {
  const n = pmf.length;
  const count = maxBin + 1;
  if (re.length < count || im.length < count) throw new RangeError(`spectrum buffers must hold ${count} bins`);
  const block = lowFrequencyBlockSize(n, maxBin);
  const rows = n / block;
  // Exact twiddles e^{-2 pi i j / rows}: block b contributes at e^{-2 pi i k b block / n}.
  const tableCos = new Float64Array(rows);
  const tableSin = new Float64Array(rows);
  for (let j = 0; j < rows; j++) {
    tableCos[j] = Math.cos((2 * Math.PI * j) / rows);
    tableSin[j] = -Math.sin((2 * Math.PI * j) / rows);
  }
  // a_k = pi k block / n: the phase across half a block.
  const phase = new Float64Array(count);
  for (let k = 0; k < count; k++) phase[k] = (Math.PI * k * block) / n;
  // Every bin sums thousands of block terms near 1 in all, and N-fold composition
  // multiplies a bin's relative error by N (10^6): the sums are compensated (Neumaier),
  // which keeps each bin within about an ulp, like the FFT's tree of additions.
  re.fill(0, 0, count);
  im.fill(0, 0, count);
  const reCarry = new Float64Array(count);
  const imCarry = new Float64Array(count);
  const moments = new Float64Array(TERMS);
  const halfBlock = block / 2;
  const middle = (block - 1) / 2;
  // Blocks are laid out from the centre: block b covers origin + b block + [0, block), so
  // its middle sits at center + 1/2 + b block and its twiddle is e^{-2 pi i k b / rows}
  // times a common e^{-pi i k / n}. The blocks around the centre, which hold nearly all
  // the mass, get twiddles of exactly 1 or close to it, with no large rotations to round.
  const origin = center + 1 - halfBlock;
  const firstBlock = Math.floor(-origin / block);
  const lastBlock = Math.floor((n - 1 - origin) / block);
  for (let b = firstBlock; b <= lastBlock; b++) {
    const start = origin + b * block;
    const from = Math.max(0, -start);
    const to = Math.min(block, n - start);
    let any = false;
    moments.fill(0);
    // The mass and first moment dominate the result: compensated too.
    let m0Carry = 0;
    let m1Carry = 0;
    for (let l = from; l < to; l++) {
      const p = pmf[start + l]!;
      if (p === 0) continue;
      any = true;
      const v = (l - middle) / halfBlock;
      const m0 = moments[0]!;
      const t0 = m0 + p;
      m0Carry += Math.abs(m0) >= Math.abs(p) ? m0 - t0 + p : p - t0 + m0;
      moments[0] = t0;
      const pv = p * v;
      const m1 = moments[1]!;
      const t1 = m1 + pv;
      m1Carry += Math.abs(m1) >= Math.abs(pv) ? m1 - t1 + pv : pv - t1 + m1;
      moments[1] = t1;
      let power = pv * v;
      for (let r = 2; r < TERMS; r++) {
        moments[r]! += power;
        power *= v;
      }
    }
    if (!any) continue;
    moments[0]! += m0Carry;
    moments[1]! += m1Carry;
    // m_r / r!, so the block sum is sum_r m_r (-i a)^r.
    let factorial = 1;
    for (let r = 1; r < TERMS; r++) {
      factorial *= r;
      moments[r]! /= factorial;
    }
    for (let k = 0; k < count; k++) {
      const a = phase[k]!;
      const a2 = a * a;
      // Real part: m0 - m2 a^2 + m4 a^4 - ...; imaginary: -a (m1 - m3 a^2 + m5 a^4 - ...).
      let even = moments[TERMS - 2]!;
      let odd = moments[TERMS - 1]!;
      for (let r = TERMS - 4; r >= 0; r -= 2) {
        even = moments[r]! - a2 * even;
        odd = moments[r + 1]! - a2 * odd;
      }
      const sr = even;
      const si = -a * odd;
      const index = (((k * b) % rows) + rows) % rows;
      const wr = tableCos[index]!;
      const wi = tableSin[index]!;
      const dr = wr * sr - wi * si;
      const di = wr * si + wi * sr;
      const r0 = re[k]!;
      const r1 = r0 + dr;
      reCarry[k]! += Math.abs(r0) >= Math.abs(dr) ? r0 - r1 + dr : dr - r1 + r0;
      re[k] = r1;
      const i0 = im[k]!;
      const i1 = i0 + di;
      imCarry[k]! += Math.abs(i0) >= Math.abs(di) ? i0 - i1 + di : di - i1 + i0;
      im[k] = i1;
    }
  }
  for (let k = 0; k < count; k++) {
    re[k]! += reCarry[k]!;
    im[k]! += imCarry[k]!;
  }
  // The common factor e^{-2 pi i k (1/2) / n}: block middles sit half a point right of `center`.
  for (let k = 0; k < count; k++) {
    const angle = (-Math.PI * k) / n;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const xr = re[k]!;
    const xi = im[k]!;
    re[k] = xr * c - xi * s;
    im[k] = xr * s + xi * c;
  }
}
