import type { SanctumDatabase } from "../storage/database.js";
import { durably } from "../storage/database.js";
import type { BlobStore } from "../storage/blob-store.js";
import { storeSealedRow, sweepOrphanBlobs } from "../storage/sealed-rows.js";
import { ServerError } from "../server-error.js";
import type { ModelRecord } from "./model-record.js";
import { mayQuery } from "./model-access.js";
import { isModelId } from "./model-name.js";

/**
 * The stored models: metadata rows in SQLite, bytes sealed in the blob store. A model exists
 * once its row is committed, and its blob is always written (and fsynced) before that, so a
 * crash leaves at worst an orphan sealed blob, swept at the next start, never a partial model.
 */
export interface ModelRegistry {
  /** Seals the bytes and stores the record; `already-exists` if the owner has that name. */
  create(record: ModelRecord, bytes: Uint8Array): Promise<ModelRecord>;
  /** By id; undefined when unknown. */
  get(id: string): ModelRecord | undefined;
  /**
   * Resolves what a caller typed: an id, or a name (the caller's own model first, then one
   * shared with them). Throws `not-found`, or `permission-denied` when only others' private
   * models carry that name or id.
   */
  resolve(ref: string, caller: string): ModelRecord;
  /** The models `caller` may query, newest first. */
  listVisibleTo(caller: string): ModelRecord[];
  /** Removes the record, then the sealed bytes. */
  delete(id: string): Promise<void>;
  /** The plaintext ONNX bytes (memory only). */
  loadBytes(id: string): Promise<Buffer>;
  /** Throws `already-exists` when `owner` already has a model called `name`. */
  assertNameFree(owner: string, name: string): void;
}

interface Row {
  id: string;
  owner: string;
  name: string;
  sha256: string;
  size_bytes: number;
  inputs_json: string;
  outputs_json: string;
  access_public: number;
  access_allow_json: string;
  source: string;
  created_at: string;
}

/** Opens the registry and removes sealed model blobs that no row refers to (crash leftovers). */
export async function createModelRegistry(db: SanctumDatabase, blobs: BlobStore): Promise<ModelRegistry> {
  const byId = db.prepare("SELECT * FROM models WHERE id = ?");
  const byName = db.prepare("SELECT * FROM models WHERE name = ? ORDER BY created_at DESC");
  const byOwnerName = db.prepare("SELECT * FROM models WHERE owner = ? AND name = ?");
  const all = db.prepare("SELECT * FROM models ORDER BY created_at DESC, id");
  const insert = db.prepare(`INSERT INTO models (id, owner, name, sha256, size_bytes, inputs_json, outputs_json,
    access_public, access_allow_json, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const remove = db.prepare("DELETE FROM models WHERE id = ?");

  // Records never change once stored (only deleted), so parsed rows are kept by id.
  const records = new Map<string, ModelRecord>();
  const cached = (row: Row | undefined): ModelRecord | undefined => {
    if (row === undefined) return undefined;
    let record = records.get(row.id);
    if (record === undefined) {
      record = fromRow(row);
      records.set(row.id, record);
    }
    return record;
  };

  const known = new Set((db.prepare("SELECT id FROM models").all() as { id: string }[]).map((r) => r.id));
  await sweepOrphanBlobs(blobs, "model", known);

  const conflict = (name: string) =>
    new ServerError(
      "already-exists",
      `you already have a model named ${JSON.stringify(name)}: pick another name (--name) or delete the old one ('sanctum model delete ${name}')`,
    );

  return {
    async create(record, bytes) {
      if (byOwnerName.get(record.owner, record.name) !== undefined) throw conflict(record.name);
      await storeSealedRow(db, blobs, {
        kind: "model",
        id: record.id,
        bytes,
        insert: () =>
          insert.run(
            record.id,
            record.owner,
            record.name,
            record.sha256,
            record.sizeBytes,
            JSON.stringify(record.inputs),
            JSON.stringify(record.outputs),
            record.access.public ? 1 : 0,
            JSON.stringify(record.access.allow),
            record.source,
            record.createdAt,
          ),
        conflict: () => conflict(record.name),
      });
      return record;
    },
    get(id) {
      return records.get(id) ?? cached(byId.get(id) as Row | undefined);
    },
    resolve(ref, caller) {
      if (isModelId(ref)) {
        const record = records.get(ref) ?? cached(byId.get(ref) as Row | undefined);
        if (record === undefined) throw notFound(ref);
        return record;
      }
      const own = cached(byOwnerName.get(caller, ref) as Row | undefined);
      if (own !== undefined) return own;
      const named = (byName.all(ref) as Row[]).map((row) => cached(row)!);
      const visible = named.filter((m) => mayQuery(m, caller));
      if (visible.length === 1) return visible[0]!;
      if (visible.length > 1) {
        throw new ServerError(
          "failed-precondition",
          `${visible.length} models named ${JSON.stringify(ref)} are shared with you (${visible.map((m) => m.id).join(", ")}): use the id`,
        );
      }
      // Only others' private models carry the name: return the first, the caller's check denies it.
      if (named.length > 0) return named[0]!;
      throw notFound(ref);
    },
    listVisibleTo(caller) {
      return (all.all() as Row[]).map((row) => cached(row)!).filter((m) => mayQuery(m, caller));
    },
    async delete(id) {
      durably(db, () => remove.run(id));
      records.delete(id);
      await blobs.delete("model", id);
    },
    async loadBytes(id) {
      return blobs.get("model", id);
    },
    assertNameFree(owner, name) {
      if (byOwnerName.get(owner, name) !== undefined) throw conflict(name);
    },
  };
}

function notFound(ref: string): ServerError {
  return new ServerError("not-found", `no model ${JSON.stringify(ref)}: list the models you may use with 'sanctum model list'`);
}

function fromRow(row: Row): ModelRecord {
  return {
    id: row.id,
    owner: row.owner,
    name: row.name,
    sha256: row.sha256,
    sizeBytes: row.size_bytes,
    inputs: JSON.parse(row.inputs_json) as ModelRecord["inputs"],
    outputs: JSON.parse(row.outputs_json) as ModelRecord["outputs"],
    access: { public: row.access_public === 1, allow: JSON.parse(row.access_allow_json) as string[] },
    source: row.source === "training" ? "training" : "upload",
    createdAt: row.created_at,
  };
}
