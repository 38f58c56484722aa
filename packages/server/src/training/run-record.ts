import type { ModelAccess } from "../models/model-record.js";
import type { LossName, OptimizerSettings } from "./run-config.js";

/** Where a run is. Only "running" runs change; the others are final. */
export type RunStatus = "running" | "succeeded" | "failed" | "cancelled";

/** What the run spends, as reserved on the ledgers. */
export interface RunPrivacy {
  /** The guarantee of the run (training and training-data metrics composed) at `delta`. */
  readonly epsilon: number;
  readonly delta: number;
  readonly accountant: "rdp" | "prv";
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly steps: number;
  readonly stepsPerEpoch: number;
  readonly maxGradNorm: number;
  /** The noised metrics (noise multiplier of the mechanism as accounted; 0 = no metrics). */
  readonly metricsNoiseMultiplier: number;
  readonly metricsSampleRate: number;
  readonly metricsReleases: number;
  /** Each per-sample loss is clipped to [0, lossClip] before it is summed. */
  readonly lossClip: number;
  /** L2 sensitivity of one metrics release in units of (loss / lossClip, correct): sqrt(2), or 1 without accuracy. */
  readonly metricsSensitivity: number;
}

/** Noised metrics of one epoch. */
export interface EpochMetricsRecord {
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy?: number;
  readonly source: "train" | "eval";
  readonly lossNoiseStd: number;
  readonly accuracyNoiseStd: number;
  readonly lossClip: number;
}

/** A training run as stored (one JSON document per run). */
export interface TrainingRunRecord {
  readonly id: string;
  readonly owner: string;
  readonly status: RunStatus;
  readonly datasets: readonly string[];
  readonly evalDataset?: string;
  readonly loss: LossName;
  readonly epochs: number;
  readonly batchSize: number;
  readonly maxBatchSize: number;
  readonly optimizer: OptimizerSettings;
  readonly stepsPlanned: number;
  readonly stepsDone: number;
  readonly privacy: RunPrivacy;
  readonly metrics: readonly EpochMetricsRecord[];
  readonly modelSha256: string;
  readonly trainedSha256?: string;
  /** Deploy asked for at start. */
  readonly deploy?: { readonly name: string; readonly access: ModelAccess };
  readonly modelId?: string;
  readonly weightsAvailable: boolean;
  readonly error?: string;
  readonly createdAt: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
}
