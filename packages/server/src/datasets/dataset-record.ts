import type { DatasetDtype } from "@sanctum/protocol";

/** Who may download weights trained on a dataset. Deploying inside the TEE is always allowed. */
export type WeightsRelease = "owner" | "trainers" | "nobody";

/** The values {@link WeightsRelease} may take, for validating input. */
export const WEIGHTS_RELEASE_VALUES: readonly WeightsRelease[] = ["owner", "trainers", "nobody"];

/** A dataset's policy, fixed at upload. */
export interface DatasetPolicy {
  /** Public key ids allowed to train besides the owner (owner excluded, no duplicates). */
  readonly trainers: readonly string[];
  readonly weightsRelease: WeightsRelease;
}

/** One array of a dataset, without its values. */
export interface DatasetArraySpec {
  readonly name: string;
  readonly dtype: DatasetDtype;
  /** Full shape; the first dimension is the rows. */
  readonly shape: readonly number[];
}

/** A stored dataset's metadata. Its records live sealed in the blob store under the same id. */
export interface DatasetRecord {
  readonly id: string;
  /** Public key id of the uploader. */
  readonly owner: string;
  /** Unique per owner among datasets not deleted. */
  readonly name: string;
  readonly rows: number;
  readonly arrays: readonly DatasetArraySpec[];
  /** Bytes of the sealed safetensors plaintext. */
  readonly sizeBytes: number;
  /** The budget: the largest composed epsilon the ledger may reach at `delta`. */
  readonly epsilonLimit: number;
  readonly delta: number;
  /** How the ledger composes; "rdp" (Opacus-compatible). */
  readonly accountant: "rdp" | "prv";
  readonly policy: DatasetPolicy;
  /** RFC 3339. */
  readonly createdAt: string;
  /** RFC 3339 once the owner deleted the records (ledger and audit log stay). */
  readonly deletedAt?: string;
}
