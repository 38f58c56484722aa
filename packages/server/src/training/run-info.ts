import { create } from "@bufbuild/protobuf";
import { EpochMetricsSchema, TrainingRunSchema, type EpochMetrics, type TrainingRun } from "@sanctum/protocol";
import type { EpochMetricsRecord, TrainingRunRecord } from "./run-record.js";

/** The wire form of noised epoch metrics. */
export function toEpochMetrics(m: EpochMetricsRecord): EpochMetrics {
  return create(EpochMetricsSchema, {
    epoch: m.epoch,
    loss: m.loss,
    accuracy: m.accuracy ?? 0,
    hasAccuracy: m.accuracy !== undefined,
    source: m.source,
    lossNoiseStd: m.lossNoiseStd,
    accuracyNoiseStd: m.accuracyNoiseStd,
    lossClip: m.lossClip,
  });
}

/** The wire form of a run (for its owner only). */
export function toTrainingRun(run: TrainingRunRecord): TrainingRun {
  const p = run.privacy;
  return create(TrainingRunSchema, {
    id: run.id,
    owner: run.owner,
    status: run.status,
    datasets: [...run.datasets],
    evalDataset: run.evalDataset ?? "",
    loss: run.loss,
    epochs: run.epochs,
    stepsPlanned: BigInt(run.stepsPlanned),
    stepsDone: BigInt(run.stepsDone),
    privacy: {
      epsilon: p.epsilon,
      delta: p.delta,
      noiseMultiplier: p.noiseMultiplier,
      sampleRate: p.sampleRate,
      steps: BigInt(p.steps),
      maxGradNorm: p.maxGradNorm,
      accountant: p.accountant,
      metricsNoiseMultiplier: p.metricsNoiseMultiplier,
      metricsSampleRate: p.metricsSampleRate,
      metricsReleases: BigInt(p.metricsReleases),
    },
    metrics: run.metrics.map(toEpochMetrics),
    modelSha256: run.modelSha256,
    trainedSha256: run.trainedSha256 ?? "",
    modelId: run.modelId ?? "",
    weightsAvailable: run.weightsAvailable && run.status === "succeeded",
    error: run.error ?? "",
    createdAt: run.createdAt,
    finishedAt: run.finishedAt ?? "",
    durationMs: BigInt(run.durationMs ?? 0),
  });
}
