import { randomBytes } from "node:crypto";
import { decodeSafetensors, type RawTensor } from "@sanctum/protocol";
import type { BlobStore } from "../storage/blob-store.js";
import { durably, type SanctumDatabase } from "../storage/database.js";
import { storeSealedRow, sweepOrphanBlobs } from "../storage/sealed-rows.js";
import { ServerError } from "../server-error.js";
import { mayTrain } from "./dataset-policy.js";
import type { DatasetRecord } from "./dataset-record.js";

const ID_PATTERN = /^ds_[0-9a-f]{32}$/;

/** A fresh dataset id: `ds_` and 128 random bits in hex. */
export function newDatasetId(): string {
  return "ds_" + randomBytes(16).toString("hex");
}

/**
 * The stored datasets: metadata rows in SQLite, records sealed in the blob store (kind
 * "dataset", the safetensors bytes as uploaded and validated). A dataset exists once its row
 * is committed; its blob is written and fsynced before, so a crash leaves at worst an orphan
 * blob, swept at the next start.
 */
export interface DatasetStore {
  /** Seals the bytes and stores the record; `already-exists` if the owner has that name. */
  create(record: DatasetRecord, safetensors: Uint8Array): Promise<DatasetRecord>;
  /** By id, deleted ones included; undefined when unknown. */
  get(id: string): DatasetRecord | undefined;
  /** By id, not deleted; throws `not-found` otherwise. */
  require(id: string): DatasetRecord;
  /** Datasets (not deleted) `caller` owns or may train on, newest first. */
  listVisibleTo(caller: string): DatasetRecord[];
  /** Removes the records (the sealed blob); the row stays, marked deleted, for the ledger and audit log. */
  delete(id: string, now: Date): Promise<void>;
  /** The arrays (plaintext, memory only). */
  loadArrays(id: string): Promise<Record<string, RawTensor>>;
  /** Throws `already-exists` when `owner` has a live dataset called `name`. */
  assertNameFree(owner: string, name: string): void;
}

interface Row {
  id: string;
  owner: string;
  name: string;
  rows: number;
  arrays_json: string;
  size_bytes: number;
  epsilon_limit: number;
  delta: number;
  accountant: string;
  trainers_json: string;
  weights_release: string;
  created_at: string;
  deleted_at: string | null;
}

/** Opens the store and removes sealed dataset blobs no live row refers to (crash leftovers). */
export async function createDatasetStore(db: SanctumDatabase, blobs: BlobStore): Promise<DatasetStore> {
  const byId = db.prepare("SELECT * FROM datasets WHERE id = ?");
  const byOwnerName = db.prepare("SELECT id FROM datasets WHERE owner = ? AND name = ? AND deleted_at IS NULL");
  const live = db.prepare("SELECT * FROM datasets WHERE deleted_at IS NULL ORDER BY created_at DESC, id");
  const insert = db.prepare(`INSERT INTO datasets (id, owner, name, rows, arrays_json, size_bytes, epsilon_limit, delta,
    accountant, trainers_json, weights_release, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const markDeleted = db.prepare("UPDATE datasets SET deleted_at = ? WHERE id = ?");

  const known = new Set((db.prepare("SELECT id FROM datasets WHERE deleted_at IS NULL").all() as { id: string }[]).map((r) => r.id));
  await sweepOrphanBlobs(blobs, "dataset", known);

  const conflict = (name: string) =>
    new ServerError(
      "already-exists",
      `you already have a dataset named ${JSON.stringify(name)}: pick another name (--name) or delete the old one ('sanctum dataset delete ID')`,
    );
  const notFound = (id: string) =>
    new ServerError("not-found", `no dataset ${JSON.stringify(id.slice(0, 80))}: list the datasets you may use with 'sanctum dataset list'`);

  return {
    async create(record, safetensors) {
      if (byOwnerName.get(record.owner, record.name) !== undefined) throw conflict(record.name);
      await storeSealedRow(db, blobs, {
        kind: "dataset",
        id: record.id,
        bytes: safetensors,
        insert: () =>
          insert.run(
            record.id,
            record.owner,
            record.name,
            record.rows,
            JSON.stringify(record.arrays),
            record.sizeBytes,
            record.epsilonLimit,
            record.delta,
            record.accountant,
            JSON.stringify(record.policy.trainers),
            record.policy.weightsRelease,
            record.createdAt,
          ),
        conflict: () => conflict(record.name),
      });
      return record;
    },
    get(id) {
      if (!ID_PATTERN.test(id)) return undefined;
      const row = byId.get(id) as Row | undefined;
      return row === undefined ? undefined : fromRow(row);
    },
    require(id) {
      const record = ID_PATTERN.test(id) ? (byId.get(id) as Row | undefined) : undefined;
      if (record === undefined || record.deleted_at !== null) throw notFound(id);
      return fromRow(record);
    },
    listVisibleTo(caller) {
      return (live.all() as Row[]).map(fromRow).filter((d) => mayTrain(d, caller));
    },
    async delete(id, now) {
      durably(db, () => markDeleted.run(now.toISOString(), id));
      await blobs.delete("dataset", id);
    },
    async loadArrays(id) {
      const bytes = await blobs.get("dataset", id);
      return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).tensors;
    },
    assertNameFree(owner, name) {
      if (byOwnerName.get(owner, name) !== undefined) throw conflict(name);
    },
  };
}

function fromRow(row: Row): DatasetRecord {
  return {
    id: row.id,
    owner: row.owner,
    name: row.name,
    rows: row.rows,
    arrays: JSON.parse(row.arrays_json) as DatasetRecord["arrays"],
    sizeBytes: row.size_bytes,
    epsilonLimit: row.epsilon_limit,
    delta: row.delta,
    accountant: row.accountant === "prv" ? "prv" : "rdp",
    policy: { trainers: JSON.parse(row.trainers_json) as string[], weightsRelease: row.weights_release as DatasetRecord["policy"]["weightsRelease"] },
    createdAt: row.created_at,
    ...(row.deleted_at === null ? {} : { deletedAt: row.deleted_at }),
  };
}
