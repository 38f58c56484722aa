import { addGaussianNoise, type RandomSource } from "@sanctum/trainer";
import type { MetricSums } from "./metrics-evaluator.js";
import type { EpochMetricsRecord, RunPrivacy } from "./run-record.js";

/**
 * Releases one epoch's metrics with the Gaussian mechanism: the vector
 * (sum of clipped losses / lossClip, sum of correct) over a Poisson sample has L2
 * sensitivity sqrt(2) under adding or removing one record (each coordinate moves by at most
 * 1), or 1 without accuracy; N(0, (z * sensitivity)^2) is added to each coordinate, where z
 * is the noise multiplier the ledger was charged for. Means divide by the expected sample
 * size q * N, never the actual one (which would leak it).
 */
export function releaseMetrics(
  sums: MetricSums,
  privacy: RunPrivacy,
  options: { readonly epoch: number; readonly rows: number; readonly source: "train" | "eval"; readonly hasAccuracy: boolean; readonly random: RandomSource },
): EpochMetricsRecord {
  const std = privacy.metricsNoiseMultiplier * privacy.metricsSensitivity;
  const noisy = Float32Array.of(0, 0);
  addGaussianNoise(noisy, std, options.random);
  const expected = privacy.metricsSampleRate * options.rows;
  const clip = privacy.lossClip;
  const loss = ((sums.clippedLossSum / clip + noisy[0]!) * clip) / expected;
  const accuracy = (sums.correctSum + noisy[1]!) / expected;
  return {
    epoch: options.epoch,
    loss,
    ...(options.hasAccuracy ? { accuracy } : {}),
    source: options.source,
    lossNoiseStd: (std * clip) / expected,
    accuracyNoiseStd: options.hasAccuracy ? std / expected : 0,
    lossClip: clip,
  };
}
