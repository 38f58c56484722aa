import type {
  DatasetInfo as WireDatasetInfo,
  EpochMetrics as WireEpochMetrics,
  GetDatasetBudgetResponse,
  TrainingRun as WireTrainingRun,
} from "@sanctum/protocol";

/** Who may download weights trained on a dataset (deploying inside the TEE is always allowed). */
export type WeightsRelease = "owner" | "trainers" | "nobody";

/** A dataset as the server describes it: metadata only, never values. */
export interface DatasetInfo {
  readonly id: string;
  readonly name: string;
  /** Public key id of the uploader. */
  readonly owner: string;
  readonly rows: number;
  readonly arrays: readonly { readonly name: string; readonly dtype: string; readonly shape: readonly number[] }[];
  readonly epsilonLimit: number;
  readonly delta: number;
  /** Composed epsilon of everything reserved or run on it. */
  readonly epsilonSpent: number;
  /** Trainers are listed for the owner only. */
  readonly policy: { readonly trainers: readonly string[]; readonly weightsRelease: string };
  readonly sizeBytes: number;
  readonly createdAt: string;
  readonly accountant: string;
}

/** One mechanism charged to a dataset. */
export interface LedgerEntry {
  readonly id: string;
  /** "training" or "metrics". */
  readonly kind: string;
  readonly runId: string;
  readonly caller: string;
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly stepsReserved: number;
  readonly stepsSettled: number;
  /** "reserved" or "settled". */
  readonly status: string;
  readonly createdAt: string;
  readonly settledAt: string;
  /** Epsilon of this entry alone. */
  readonly epsilon: number;
}

/** A dataset's privacy ledger (owner only). */
export interface DatasetBudget {
  readonly dataset: string;
  readonly epsilonLimit: number;
  readonly delta: number;
  /** The composition of every entry, never a sum. */
  readonly epsilonSpent: number;
  readonly epsilonRemaining: number;
  readonly accountant: string;
  readonly entries: readonly LedgerEntry[];
}

/** Noised metrics of one epoch (Gaussian noise, their epsilon charged to the ledgers). */
export interface EpochMetrics {
  readonly epoch: number;
  readonly loss: number;
  /** Classification losses only. */
  readonly accuracy?: number;
  /** "train" or "eval". */
  readonly source: string;
  readonly lossNoiseStd: number;
  readonly accuracyNoiseStd: number;
}

/** What a run spends. */
export interface TrainingPrivacy {
  readonly epsilon: number;
  readonly delta: number;
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly steps: number;
  readonly maxGradNorm: number;
  readonly accountant: string;
  readonly metricsNoiseMultiplier: number;
  readonly metricsSampleRate: number;
  readonly metricsReleases: number;
}

/** A remote training run. */
export interface TrainingRun {
  readonly id: string;
  readonly owner: string;
  /** "running", "succeeded", "failed" or "cancelled". */
  readonly status: string;
  readonly datasets: readonly string[];
  readonly evalDataset?: string;
  readonly loss: string;
  readonly epochs: number;
  readonly stepsPlanned: number;
  readonly stepsDone: number;
  readonly privacy: TrainingPrivacy;
  readonly metrics: readonly EpochMetrics[];
  readonly modelSha256: string;
  readonly trainedSha256?: string;
  /** Set once deployed. */
  readonly modelId?: string;
  /** True when every dataset's policy lets you download the weights. */
  readonly weightsAvailable: boolean;
  readonly error?: string;
  readonly createdAt: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
}

/** Progress of a run, as `onProgress` receives it. */
export type TrainingEvent =
  | { readonly kind: "progress"; readonly epoch: number; readonly step: number; readonly totalSteps: number }
  | { readonly kind: "epoch"; readonly metrics: EpochMetrics }
  | { readonly kind: "run"; readonly run: TrainingRun };

export function datasetInfoFromWire(w: WireDatasetInfo): DatasetInfo {
  return {
    id: w.id,
    name: w.name,
    owner: w.owner,
    rows: Number(w.rows),
    arrays: w.arrays.map((a) => ({ name: a.name, dtype: a.dtype, shape: a.shape.map(Number) })),
    epsilonLimit: w.epsilonLimit,
    delta: w.delta,
    epsilonSpent: w.epsilonSpent,
    policy: { trainers: [...(w.policy?.trainers ?? [])], weightsRelease: w.policy?.weightsRelease ?? "" },
    sizeBytes: Number(w.sizeBytes),
    createdAt: w.createdAt,
    accountant: w.accountant,
  };
}

export function budgetFromWire(w: GetDatasetBudgetResponse): DatasetBudget {
  return {
    dataset: w.dataset,
    epsilonLimit: w.epsilonLimit,
    delta: w.delta,
    epsilonSpent: w.epsilonSpent,
    epsilonRemaining: w.epsilonRemaining,
    accountant: w.accountant,
    entries: w.entries.map((e) => ({
      id: e.id,
      kind: e.kind,
      runId: e.runId,
      caller: e.caller,
      noiseMultiplier: e.noiseMultiplier,
      sampleRate: e.sampleRate,
      stepsReserved: Number(e.stepsReserved),
      stepsSettled: Number(e.stepsSettled),
      status: e.status,
      createdAt: e.createdAt,
      settledAt: e.settledAt,
      epsilon: e.epsilon,
    })),
  };
}

export function epochMetricsFromWire(m: WireEpochMetrics): EpochMetrics {
  return {
    epoch: m.epoch,
    loss: m.loss,
    ...(m.hasAccuracy ? { accuracy: m.accuracy } : {}),
    source: m.source,
    lossNoiseStd: m.lossNoiseStd,
    accuracyNoiseStd: m.accuracyNoiseStd,
  };
}

export function trainingRunFromWire(w: WireTrainingRun): TrainingRun {
  const p = w.privacy;
  return {
    id: w.id,
    owner: w.owner,
    status: w.status,
    datasets: [...w.datasets],
    ...(w.evalDataset === "" ? {} : { evalDataset: w.evalDataset }),
    loss: w.loss,
    epochs: w.epochs,
    stepsPlanned: Number(w.stepsPlanned),
    stepsDone: Number(w.stepsDone),
    privacy: {
      epsilon: p?.epsilon ?? 0,
      delta: p?.delta ?? 0,
      noiseMultiplier: p?.noiseMultiplier ?? 0,
      sampleRate: p?.sampleRate ?? 0,
      steps: Number(p?.steps ?? 0n),
      maxGradNorm: p?.maxGradNorm ?? 0,
      accountant: p?.accountant ?? "",
      metricsNoiseMultiplier: p?.metricsNoiseMultiplier ?? 0,
      metricsSampleRate: p?.metricsSampleRate ?? 0,
      metricsReleases: Number(p?.metricsReleases ?? 0n),
    },
    metrics: w.metrics.map(epochMetricsFromWire),
    modelSha256: w.modelSha256,
    ...(w.trainedSha256 === "" ? {} : { trainedSha256: w.trainedSha256 }),
    ...(w.modelId === "" ? {} : { modelId: w.modelId }),
    weightsAvailable: w.weightsAvailable,
    ...(w.error === "" ? {} : { error: w.error }),
    createdAt: w.createdAt,
    ...(w.finishedAt === "" ? {} : { finishedAt: w.finishedAt }),
    ...(w.durationMs === 0n ? {} : { durationMs: Number(w.durationMs) }),
  };
}
