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
  /** Chains the record and queues it for writing (see {@link createAuditLog}). */
  append(record: AuditRecord): AuditEntry;
  /** Writes the queued entries now; throws when the database refuses them (they stay queued). */
  flush(): void;
  /**
   * False while entries cannot be written (the last write failed and a retry, made by this
   * call, failed too). The server refuses calls meanwhile: nothing may run unaudited.
   */
  writable(): boolean;
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

/**
 * The same hash as {@link hashAuditEntry} for the server's hot path (every call appends one
 * entry): the entry's fields are strings and a number, so its canonical JSON is
 * JSON.stringify with the keys written in sorted order, without canonicalJson's generic
 * key sort and copy. The audit-log tests check both give the same hash.
 */
function hashEntryFast(prevHash: string, e: Omit<AuditEntry, "prevHash" | "hash">): string {
  const json = JSON.stringify({ caller: e.caller, method: e.method, object: e.object, outcome: e.outcome, seq: e.seq, time: e.time });
  return createHash("sha256").update(Buffer.from(prevHash, "hex")).update(json).digest("hex");
}

/** Options of {@link createAuditLog}. */
export interface AuditLogOptions {
  /** Injected clock; default `() => new Date()`. */
  readonly now?: () => Date;
  /** Called when a batch could not be written (its entries stay queued, and are retried). */
  readonly onWriteError?: (err: unknown) => void;
}

/**
 * Opens the audit log over the `audit_log` table (migration 1).
 *
 * Entries are chained in memory at once (the returned entry is final) and written in one
 * transaction per event-loop turn, so a burst of calls costs one commit, not one each. Reads
 * (`list`, `head`, `verify`) and `flush` write what is pending first; the server flushes
 * before it closes the database. A process crash can lose the entries of the current turn.
 * A batch the database refuses (disk full, I/O error) is kept, in chain order, and written
 * with the next one: entries are never dropped, and {@link AuditLog.writable} tells the server
 * to stop serving until they are on disk.
 */
export function createAuditLog(db: SanctumDatabase, options: AuditLogOptions = {}): AuditLog {
  const now = options.now ?? (() => new Date());
  const last = db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  const insert = db.prepare(
    "INSERT INTO audit_log (seq, time, caller, method, object, outcome, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const select = db.prepare("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?");
  const headRow = () => (last.get() as { seq: number; hash: string } | undefined) ?? { seq: 0, hash: GENESIS };
  // This process is the only writer, so the head lives in memory; queued entries are never
  // dropped, so it stays right even when a write fails.
  let head = headRow();
  let pending: AuditEntry[] = [];
  let scheduled = false;
  let failing = false;
  const writeAll = db.transaction((entries: readonly AuditEntry[]) => {
    for (const e of entries) insert.run(e.seq, e.time, e.caller, e.method, e.object, e.outcome, e.prevHash, e.hash);
  });
  const flush = () => {
    if (pending.length === 0) return;
    try {
      writeAll(pending);
    } catch (err) {
      failing = true;
      throw err;
    }
    pending = [];
    failing = false;
  };
  const flushSoon = () => {
    scheduled = false;
    try {
      flush();
    } catch (err) {
      options.onWriteError?.(err);
    }
  };
  return {
    append(record) {
      const body = { seq: head.seq + 1, time: now().toISOString(), caller: record.caller, method: record.method, object: record.object, outcome: record.outcome };
      const entry: AuditEntry = { ...body, prevHash: head.hash, hash: hashEntryFast(head.hash, body) };
      head = { seq: entry.seq, hash: entry.hash };
      pending.push(entry);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushSoon);
      }
      return entry;
    },
    flush,
    writable() {
      if (!failing) return true;
      try {
        flush();
      } catch (err) {
        options.onWriteError?.(err);
      }
      return !failing;
    },
    list(opts = {}) {
      flush();
      return (select.all(opts.afterSeq ?? 0, opts.limit ?? 1000) as Row[]).map(fromRow);
    },
    head() {
      flush();
      return { ...head };
    },
    verify() {
      flush();
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
