import { isPublicKeyId } from "@sanctum/protocol";
import { ServerError } from "../server-error.js";
import { WEIGHTS_RELEASE_VALUES, type DatasetPolicy, type DatasetRecord, type WeightsRelease } from "./dataset-record.js";

/** Most trainers one dataset may list. */
export const MAX_TRAINERS = 1000;

/** Whether `caller` may train on (and see the metadata of) `dataset`. */
export function mayTrain(dataset: DatasetRecord, caller: string): boolean {
  return dataset.owner === caller || dataset.policy.trainers.includes(caller);
}

/** Throws `permission-denied` unless `caller` may train on `dataset`; the message says how to fix it. */
export function assertMayTrain(dataset: DatasetRecord, caller: string): void {
  if (mayTrain(dataset, caller)) return;
  throw new ServerError(
    "permission-denied",
    `dataset ${dataset.id} may be used only by its owner and the trainers it lists, and you (${caller}) are not among them: ` +
      `ask its owner to upload it with --trainers ${caller}`,
  );
}

/**
 * Throws `permission-denied` unless `caller` owns `dataset`. The owner is named only to its
 * trainers; a stranger gets {@link assertMayTrain}'s refusal, which does not say who owns it.
 */
export function assertDatasetOwner(dataset: DatasetRecord, caller: string, action: string): void {
  if (dataset.owner === caller) return;
  assertMayTrain(dataset, caller);
  throw new ServerError("permission-denied", `only the owner of dataset ${dataset.id} (${dataset.owner}) may ${action}; you are ${caller}`);
}

/** Whether the dataset's policy lets `caller` receive weights trained on it. */
export function mayReceiveWeights(dataset: DatasetRecord, caller: string): boolean {
  switch (dataset.policy.weightsRelease) {
    case "owner":
      return caller === dataset.owner;
    case "trainers":
      return mayTrain(dataset, caller);
    case "nobody":
      return false;
  }
}

/** The default delta of a dataset of `rows` records: min(1e-5, 1 / (10 N)), below 1/N as DP needs. */
export function defaultDelta(rows: number): number {
  return Math.min(1e-5, 1 / (10 * rows));
}

/**
 * Checks the policy an uploader asks for: trainers are public key ids as `sanctum keygen`
 * prints them (the owner and duplicates dropped), weights release one of owner, trainers,
 * nobody (default owner: the conservative choice, weights stay in the TEE unless the owner
 * says otherwise).
 */
export function validatePolicy(policy: { trainers: readonly string[]; weightsRelease: string } | undefined, owner: string): DatasetPolicy {
  const trainers = policy?.trainers ?? [];
  if (trainers.length > MAX_TRAINERS) throw new ServerError("invalid-argument", `policy.trainers: at most ${MAX_TRAINERS} identities, got ${trainers.length}`);
  for (const [i, id] of trainers.entries()) {
    if (!isPublicKeyId(id)) {
      throw new ServerError(
        "invalid-argument",
        `policy.trainers[${i}] ${JSON.stringify(id.slice(0, 80))} is not a public key id: expected 'ed25519:' and 43 base64url characters, as printed by 'sanctum keygen'`,
      );
    }
  }
  const release = policy?.weightsRelease === undefined || policy.weightsRelease === "" ? "owner" : policy.weightsRelease;
  if (!(WEIGHTS_RELEASE_VALUES as readonly string[]).includes(release)) {
    throw new ServerError("invalid-argument", `policy.weights_release must be one of ${WEIGHTS_RELEASE_VALUES.join(", ")}, got ${JSON.stringify(release.slice(0, 40))}`);
  }
  return { trainers: [...new Set(trainers)].filter((id) => id !== owner), weightsRelease: release as WeightsRelease };
}

/** Checks a budget's epsilon: in (0, 100]. Also run on the upload's header, before the records flow. */
export function validateEpsilonLimit(epsilon: number): void {
  if (!Number.isFinite(epsilon) || epsilon <= 0 || epsilon > 100) {
    throw new ServerError("invalid-argument", `epsilon (the budget) must be a number in (0, 100], got ${epsilon}`);
  }
}

/** Checks a budget: epsilon in (0, 100], delta in (0, 1/N) or 0 for the default. */
export function validateBudget(epsilon: number, delta: number, rows: number): { epsilonLimit: number; delta: number } {
  validateEpsilonLimit(epsilon);
  if (delta === 0) return { epsilonLimit: epsilon, delta: defaultDelta(rows) };
  if (!Number.isFinite(delta) || delta <= 0 || delta >= 1) throw new ServerError("invalid-argument", `delta must be in (0, 1), got ${delta}`);
  if (delta >= 1 / rows) {
    throw new ServerError("invalid-argument", `delta ${delta} is not below 1/N = ${1 / rows} for ${rows} records: such a delta allows releasing a record in clear; use at most ${defaultDelta(rows)}`);
  }
  return { epsilonLimit: epsilon, delta };
}
