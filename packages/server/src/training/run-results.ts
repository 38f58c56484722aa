import type { DatasetAuditLog } from "../audit/dataset-audit-log.js";
import { mayReceiveWeights } from "../datasets/dataset-policy.js";
import type { DatasetRecord } from "../datasets/dataset-record.js";
import type { DatasetStore } from "../datasets/dataset-store.js";
import type { ModelSignature } from "../inference/worker-messages.js";
import { newModelRecord, type ModelAccess, type ModelRecord } from "../models/model-record.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { ServerError } from "../server-error.js";
import type { BlobStore } from "../storage/blob-store.js";
import type { TrainingRunRecord } from "./run-record.js";
import type { RunStore } from "./run-store.js";

/** What releasing a run's results needs. */
export interface RunResultsContext {
  readonly datasets: DatasetStore;
  readonly runs: RunStore;
  readonly audit: DatasetAuditLog;
  readonly blobs: BlobStore;
  readonly models: ModelRegistry;
  readonly inspectModel: (bytes: Uint8Array) => Promise<ModelSignature>;
  readonly now: () => Date;
}

const RELEASED_TO = { owner: "its owner only", trainers: "its owner and trainers only", nobody: "nobody" } as const;

/** Trained weights handed out: the plaintext ONNX bytes (zero them when sent) and their hex SHA-256. */
export interface ReleasedWeights {
  readonly bytes: Buffer;
  readonly sha256: string;
}

/**
 * The trained weights of a succeeded run, for `caller`, only if every training dataset's
 * policy (as it is now; a deleted dataset counts as "nobody") lets the caller have them.
 * Allowed and refused downloads go to each dataset's audit chain.
 */
export async function releaseWeights(ctx: RunResultsContext, run: TrainingRunRecord, caller: string): Promise<ReleasedWeights> {
  if (run.status !== "succeeded") throw new ServerError("failed-precondition", `training run ${run.id} is ${run.status}: weights exist only for a run that succeeded`);
  const refusing = run.datasets.find((id) => {
    const d = liveDataset(ctx, id);
    return d === undefined || !mayReceiveWeights(d, caller);
  });
  if (refusing !== undefined) {
    for (const id of run.datasets) ctx.audit.append({ dataset: id, caller, action: "weights-download", outcome: "permission_denied", details: { run: run.id } });
    throw weightsStayInside(`the weights of run ${run.id}`, refusing, liveDataset(ctx, refusing));
  }
  const bytes = await ctx.blobs.get("weights", run.id);
  const sha256 = run.trainedSha256 ?? "";
  for (const id of run.datasets) ctx.audit.append({ dataset: id, caller, action: "weights-download", outcome: "ok", details: { run: run.id, sha256 } });
  return { bytes, sha256 };
}

/**
 * Registers a succeeded run's trained model for confidential inference under `caller`'s
 * ownership (source "training"). The weights are copied inside the sealed store; they never
 * leave the TEE. Each dataset's audit chain records the deployment.
 */
export async function deployTrainedModel(ctx: RunResultsContext, run: TrainingRunRecord, caller: string, name: string, access: ModelAccess): Promise<ModelRecord> {
  if (run.status !== "succeeded") throw new ServerError("failed-precondition", `training run ${run.id} is ${run.status}: only a run that succeeded can be deployed`);
  // A deleted dataset's owner withdrew it: what was trained on it is no longer deployed anew
  // (models deployed before stay, as their owners' models).
  const deleted = run.datasets.find((id) => liveDataset(ctx, id) === undefined);
  if (deleted !== undefined) {
    for (const id of run.datasets) ctx.audit.append({ dataset: id, caller, action: "deploy", outcome: "failed_precondition", details: { run: run.id } });
    throw new ServerError("failed-precondition", `training run ${run.id} used dataset ${deleted}, which its owner deleted: models trained on it can no longer be deployed`);
  }
  const bytes = await ctx.blobs.get("weights", run.id);
  try {
    const signature = await ctx.inspectModel(bytes);
    const record = newModelRecord({ bytes, signature, owner: caller, name, access, source: "training", now: ctx.now() });
    await ctx.models.create(record, bytes);
    const latest = ctx.runs.get(run.id) ?? run;
    ctx.runs.update({ ...latest, modelId: record.id });
    for (const id of run.datasets) ctx.audit.append({ dataset: id, caller, action: "deploy", outcome: "ok", details: { run: run.id, model: record.id } });
    return record;
  } finally {
    bytes.fill(0);
  }
}

/** A run's dataset as it is now, or undefined once its owner deleted it. */
function liveDataset(ctx: RunResultsContext, id: string): DatasetRecord | undefined {
  const d = ctx.datasets.get(id);
  return d === undefined || d.deletedAt !== undefined ? undefined : d;
}

/** The refusal when dataset `id`'s policy (or its deletion: `d` undefined) keeps trained weights inside the TEE. */
function weightsStayInside(what: string, id: string, d: DatasetRecord | undefined): ServerError {
  const to = d === undefined ? "nobody (deleted)" : RELEASED_TO[d.policy.weightsRelease];
  return new ServerError("permission-denied", `${what} may not leave the TEE: dataset ${id} releases weights to ${to}. Deploy the model instead ('sanctum train ... --deploy NAME')`);
}

/**
 * Refuses a run whose caller means to download the weights when a training dataset's policy
 * would refuse that download, before anything is reserved; `audit` records it per dataset.
 */
export function assertWeightsMayLeave(datasets: readonly DatasetRecord[], caller: string, audit: (datasetId: string, err: ServerError) => void): void {
  const d = datasets.find((x) => !mayReceiveWeights(x, caller));
  if (d === undefined) return;
  const err = weightsStayInside("the trained weights", d.id, d);
  for (const x of datasets) audit(x.id, err);
  throw err;
}
