import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { AUDIT_GENESIS_HASH, canonicalJson, hashDatasetAuditEntry, type DatasetAuditEntry } from "@sanctum/protocol";
import { ServerError } from "../server-error.js";
import type { SanctumDatabase } from "../storage/database.js";

/** What a caller records about a dataset; the log adds seq, time and hashes. */
export interface DatasetAuditRecord {
  readonly dataset: string;
  readonly caller: string;
  /** E.g. "upload", "train", "train-end", "budget", "weights-download", "deploy", "delete". */
  readonly action: string;
  /** "ok" or an error code. */
  readonly outcome: string;
  /** Parameters of the action (ids, mechanisms); never data. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * One hash chain per dataset, so its owner can verify the complete history of their data
 * from the first entry. The head of each chain (seq, hash) is kept with an HMAC under a key
 * derived from the sealing key: someone who edits the database (the operator) and rewrites
 * hashes cannot forge a head, so the signed head the server hands out is the true one and
 * the client finds any altered entry by recomputing the chain.
 */
export interface DatasetAuditLog {
  append(record: DatasetAuditRecord): DatasetAuditEntry;
  /** All entries of a dataset, oldest first, and the authenticated head. */
  read(dataset: string): { entries: DatasetAuditEntry[]; head: { seq: number; hash: string } };
}

/** Derives the audit MAC key from the root sealing key (HKDF-SHA256, RFC 5869). */
export function deriveAuditKey(rootKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", rootKey, Buffer.from("sanctum-seal-salt-v1"), Buffer.from("sanctum-audit-head-v1"), 32));
}

interface Row {
  dataset_id: string;
  seq: number;
  time: string;
  caller: string;
  action: string;
  outcome: string;
  details: string;
  prev_hash: string;
  hash: string;
}

/** Opens the per-dataset audit log over the `dataset_audit` tables. */
export function createDatasetAuditLog(db: SanctumDatabase, macKey: Uint8Array, now: () => Date = () => new Date()): DatasetAuditLog {
  const key = Buffer.from(macKey);
  const headRow = db.prepare("SELECT seq, hash, mac FROM dataset_audit_heads WHERE dataset_id = ?");
  const upsertHead = db.prepare(
    "INSERT INTO dataset_audit_heads (dataset_id, seq, hash, mac) VALUES (?, ?, ?, ?) ON CONFLICT (dataset_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac",
  );
  const insert = db.prepare(
    "INSERT INTO dataset_audit (dataset_id, seq, time, caller, action, outcome, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const select = db.prepare("SELECT * FROM dataset_audit WHERE dataset_id = ? ORDER BY seq");
  const macOf = (dataset: string, seq: number, hash: string) => createHmac("sha256", key).update(`${dataset}\0${seq}\0${hash}`).digest("hex");

  /** The authenticated head; a head whose MAC fails means the database was edited. */
  const head = (dataset: string): { seq: number; hash: string } => {
    const row = headRow.get(dataset) as { seq: number; hash: string; mac: string } | undefined;
    if (row === undefined) return { seq: 0, hash: AUDIT_GENESIS_HASH };
    const expected = Buffer.from(macOf(dataset, row.seq, row.hash), "hex");
    const given = Buffer.from(row.mac, "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ServerError("storage-corrupt", `the audit log head of dataset ${dataset} fails authentication: the database was altered; restore it from backup`);
    }
    return { seq: row.seq, hash: row.hash };
  };

  const append = db.transaction((record: DatasetAuditRecord): DatasetAuditEntry => {
    const last = head(record.dataset);
    const body = {
      seq: last.seq + 1,
      time: now().toISOString(),
      dataset: record.dataset,
      caller: record.caller,
      action: record.action,
      outcome: record.outcome,
      details: canonicalJson(record.details ?? {}),
    };
    const hash = hashDatasetAuditEntry(last.hash, body);
    insert.run(body.dataset, body.seq, body.time, body.caller, body.action, body.outcome, body.details, last.hash, hash);
    upsertHead.run(body.dataset, body.seq, hash, macOf(body.dataset, body.seq, hash));
    return { ...body, prevHash: last.hash, hash };
  });

  return {
    append: (record) => append(record),
    read(dataset) {
      const readAll = db.transaction(() => ({
        head: head(dataset),
        entries: (select.all(dataset) as Row[]).map(
          (r): DatasetAuditEntry => ({
            seq: r.seq,
            time: r.time,
            dataset: r.dataset_id,
            caller: r.caller,
            action: r.action,
            outcome: r.outcome,
            details: r.details,
            prevHash: r.prev_hash,
            hash: r.hash,
          }),
        ),
      }));
      return readAll();
    },
  };
}
