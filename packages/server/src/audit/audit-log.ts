import { createHash } from "node:crypto";
import { canonicalJson } from "@sanctum/protocol";
import type { SanctumDatabase } from "../storage/database.js";

/** One audited call. Never any data: who, what, on which object, and how it ended. */
export interface AuditEntry {
  readonly seq: number;
  /** RFC 3339. */
  readonly time: string;
  /** Public key id of the caller, or "anonymous" (GetEvidence, failed authentication). */
  readonly caller: string;
  /** RPC name, e.g. "ModelService/Predict". */
  readonly method: string;
  /** Id of the object acted on, or "" when none. */
  readonly object: string;
  /** "ok" or the error code (e.g. "permission_denied"). */
  readonly outcome: string;
  /** Hex SHA-256 of the previous entry ("0" x 64 for the first). */
  readonly prevHash: string;
  /** Hex SHA-256(prevHash bytes || canonical JSON of the entry without hashes). */
  readonly hash: string;
}

/** What a caller records; the log adds sequence number, time and hashes. */
export type AuditRecord = Pick<AuditEntry, "caller" | "method" | "object" | "outcome">;

/** An append-only, hash-chained log of every call, in the metadata database. */
export interface AuditLog {
  append(record: AuditRecord): AuditEntry;
  /** Entries with seq > `afterSeq` (default 0), oldest first, at most `limit` (default 1000). */
  list(options?: { afterSeq?: number; limit?: number }): AuditEntry[];
  /** The newest entry's hash: a commitment to the whole log so far (issue 6 signs it). */
  head(): { seq: number; hash: string };
  /** Recomputes the chain; returns the first broken seq, or undefined when intact. */
  verify(): number | undefined;
}

const GENESIS = "0".repeat(64);

/**
 * Each entry's hash covers the previous hash, so altering or deleting any entry breaks every
 * later hash; with a signed head (issue 6) truncation is caught too.
 */
export function hashAuditEntry(prevHash: string, entry: Omit<AuditEntry, "prevHash" | "hash">): string {
  return createHash("sha256").update(Buffer.from(prevHash, "hex")).update(canonicalJson(entry)).digest("hex");
}

/** Opens the audit log over the `audit_log` table (migration 1). */
export function createAuditLog(db: SanctumDatabase, now: () => Date = () => new Date()): AuditLog {
  const last = db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  const insert = db.prepare(
    "INSERT INTO audit_log (seq, time, caller, method, object, outcome, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const select = db.prepare("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?");
  const headRow = () => (last.get() as { seq: number; hash: string } | undefined) ?? { seq: 0, hash: GENESIS };
  // This process is the only writer, so the head is kept in memory (re-read if a write fails).
  let head: { seq: number; hash: string } | undefined;
  const appendTx = db.transaction((record: AuditRecord): AuditEntry => {
    const prev = (head ??= headRow());
    const body = { seq: prev.seq + 1, time: now().toISOString(), ...pick(record) };
    const hash = hashAuditEntry(prev.hash, body);
    insert.run(body.seq, body.time, body.caller, body.method, body.object, body.outcome, prev.hash, hash);
    return { ...body, prevHash: prev.hash, hash };
  });
  const append = (record: AuditRecord): AuditEntry => {
    try {
      const entry = appendTx(record);
      head = { seq: entry.seq, hash: entry.hash };
      return entry;
    } catch (err) {
      head = undefined;
      throw err;
    }
  };
  return {
    append: (record) => append(record),
    list(options = {}) {
      return (select.all(options.afterSeq ?? 0, options.limit ?? 1000) as Row[]).map(fromRow);
    },
    head: headRow,
    verify() {
      let prev = GENESIS;
      for (const row of db.prepare("SELECT * FROM audit_log ORDER BY seq").iterate() as IterableIterator<Row>) {
        const entry = fromRow(row);
        const { prevHash, hash, ...body } = entry;
        if (prevHash !== prev || hashAuditEntry(prev, body) !== hash) return entry.seq;
        prev = hash;
      }
      return undefined;
    },
  };
}

interface Row {
  seq: number;
  time: string;
  caller: string;
  method: string;
  object: string;
  outcome: string;
  prev_hash: string;
  hash: string;
}

function fromRow(row: Row): AuditEntry {
  return {
    seq: row.seq,
    time: row.time,
    caller: row.caller,
    method: row.method,
    object: row.object,
    outcome: row.outcome,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function pick(record: AuditRecord): AuditRecord {
  return { caller: record.caller, method: record.method, object: record.object, outcome: record.outcome };
}
