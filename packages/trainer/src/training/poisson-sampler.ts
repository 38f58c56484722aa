import type { RandomSource } from "./random-source.js";

/**
 * One Poisson sample of {0, ..., n-1}: each index is included independently with probability
 * `rate`, as DP-SGD's amplification-by-sampling analysis assumes (Abadi et al. 2016; Mironov
 * et al. 2019, "Renyi DP of the Sampled Gaussian Mechanism"). The batch size is random, with
 * mean rate * n. Drawn by geometric skipping (the gap to the next included index is
 * Geometric(rate)), so a step costs O(rate * n) draws instead of n. Indices come out sorted.
 */
export function samplePoisson(n: number, rate: number, random: RandomSource): Uint32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be an integer >= 0, got ${n}`);
  if (!(rate > 0 && rate <= 1)) throw new RangeError(`rate must be in (0, 1], got ${rate}`);
  if (rate === 1) return Uint32Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  const logOneMinusRate = Math.log1p(-rate);
  // P(gap = k) = (1 - rate)^k * rate  <=>  k = floor(ln U / ln(1 - rate)), U uniform in (0, 1).
  let index = Math.floor(Math.log(random.nextOpenUnit()) / logOneMinusRate);
  while (index < n) {
    out.push(index);
    index += 1 + Math.floor(Math.log(random.nextOpenUnit()) / logOneMinusRate);
  }
  return Uint32Array.from(out);
}

/** A uniformly random permutation of {0, ..., n-1} (Fisher-Yates with unbiased draws). */
export function shuffledIndices(n: number, random: RandomSource): Uint32Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`n must be an integer in [0, 2^32), got ${n}`);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/**
 * Steps per epoch for a sampling rate: round(1 / rate), at least 1. An "epoch" of Poisson
 * sampling is the number of steps whose expected batches add up to the data. Opacus uses
 * `int(1 / sample_rate)` with sample_rate = 1 / len(data_loader), where 1 / rate is an integer;
 * rounding gives the same result there and the nearest count when batchSize does not divide n.
 */
export function stepsPerEpoch(rate: number): number {
  if (!(rate > 0 && rate <= 1)) throw new RangeError(`rate must be in (0, 1], got ${rate}`);
  return Math.max(1, Math.round(1 / rate));
}

/** Splits `indices` into consecutive chunks of at most `maxSize` (the physical batches). */
export function splitPhysical(indices: Uint32Array, maxSize: number): Uint32Array[] {
  const out: Uint32Array[] = [];
  for (let start = 0; start < indices.length; start += maxSize) out.push(indices.subarray(start, start + maxSize));
  return out;
}

/**
 * The fixed physical batch shape for a logical batch. Non-private: min(batchSize, maxBatchSize).
 * DP: Poisson batches vary (Binomial(N, q), std sqrt(B (1 - q))), so the capacity covers
 * B + 4 std with as few physical batches k as maxBatchSize allows, split evenly: k batches of
 * ceil(U / k). This keeps padding small and the number of runs per step almost constant
 * (a batch beyond U, probability ~3e-5, just takes one more run). With `align` > 1 the DP
 * size is rounded up to a multiple of it where that stays within maxBatchSize and the dataset:
 * the NCHWc graphs run a CNN's weight gradients over the samples as blocked channels, which
 * needs a multiple of the block (fmnist_cnn's headline: 446 -> 448 rows, 0.5 % more padding).
 */
export function physicalBatchSize(mode: "dp" | "non-private", batchSize: number, datasetSize: number, maxBatchSize: number, align = 1): number {
  if (mode === "non-private") return Math.min(batchSize, maxBatchSize);
  const q = batchSize / datasetSize;
  const upper = Math.min(datasetSize, Math.ceil(batchSize + 4 * Math.sqrt(batchSize * (1 - q))));
  const k = Math.ceil(upper / maxBatchSize);
  const rows = Math.ceil(upper / k);
  const aligned = Math.ceil(rows / align) * align;
  return aligned <= maxBatchSize && aligned <= datasetSize ? aligned : rows;
}
