import { createHash } from "node:crypto";
import type { Dtype } from "@sanctum/protocol";
import { newModelId } from "./model-name.js";

/** A declared input or output: fixed sizes are numbers, symbolic (dynamic) dims their names. */
export interface TensorSpecRecord {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly (number | string)[];
}

/** Who besides the owner may query a model. */
export interface ModelAccess {
  /** Any identity may query. */
  readonly public: boolean;
  /** Public key ids allowed to query. */
  readonly allow: readonly string[];
}

/** A stored model's metadata (its bytes live sealed in the blob store under the same id). */
export interface ModelRecord {
  readonly id: string;
  /** Public key id of the uploader. */
  readonly owner: string;
  /** Unique per owner. */
  readonly name: string;
  /** Hex SHA-256 of the ONNX bytes. */
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly inputs: readonly TensorSpecRecord[];
  readonly outputs: readonly TensorSpecRecord[];
  readonly access: ModelAccess;
  /** "upload", or "training" for models trained in the TEE (issue 6). */
  readonly source: "upload" | "training";
  /** RFC 3339. */
  readonly createdAt: string;
}

/** What a new model record is made of; the rest is derived from the bytes. */
export interface NewModelRecordOptions {
  readonly bytes: Uint8Array;
  readonly signature: { readonly inputs: readonly TensorSpecRecord[]; readonly outputs: readonly TensorSpecRecord[] };
  readonly owner: string;
  readonly name: string;
  readonly access: ModelAccess;
  readonly source: ModelRecord["source"];
  readonly now: Date;
}

/** A fresh record (new id, SHA-256 and size of the bytes) for an uploaded or trained model. */
export function newModelRecord(o: NewModelRecordOptions): ModelRecord {
  return {
    id: newModelId(),
    owner: o.owner,
    name: o.name,
    sha256: createHash("sha256").update(o.bytes).digest("hex"),
    sizeBytes: o.bytes.byteLength,
    inputs: o.signature.inputs,
    outputs: o.signature.outputs,
    access: o.access,
    source: o.source,
    createdAt: o.now.toISOString(),
  };
}
