import { createHash, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { canonicalJson } from "./receipt.js";

/** One entry of a dataset's audit log: who did what to it, and how it ended. Never data. */
export interface DatasetAuditEntry {
  /** 1, 2, ... per dataset. */
  readonly seq: number;
  /** RFC 3339, by the server's clock. */
  readonly time: string;
  readonly dataset: string;
  /** Public key id of the caller. */
  readonly caller: string;
  /** E.g. "upload", "train", "budget", "weights-download", "delete". */
  readonly action: string;
  /** "ok" or an error code such as "permission-denied". */
  readonly outcome: string;
  /** Canonical JSON of the action's parameters (run id, mechanism, ...). */
  readonly details: string;
  /** Hex SHA-256 of the previous entry; {@link AUDIT_GENESIS_HASH} for the first. */
  readonly prevHash: string;
  /** Hex SHA-256(prevHash bytes || canonical JSON of the entry without its hashes). */
  readonly hash: string;
}

/** The `prevHash` of a dataset's first audit entry. */
export const AUDIT_GENESIS_HASH = "0".repeat(64);

/** What the server signs when it hands out a dataset's audit log: the head of its chain. */
export interface AuditHeadPayload {
  readonly type: "sanctum-audit-head";
  readonly version: 1;
  readonly dataset: string;
  /** Seq of the newest entry (0 when the log is empty). */
  readonly seq: number;
  /** Hash of the newest entry. */
  readonly hash: string;
  /** RFC 3339 time of signing. */
  readonly time: string;
}

/** A signed head: the payload's canonical JSON bytes and an ECDSA P-256 / SHA-256 P1363 signature. */
export interface SignedStatement {
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * The hash of an entry. It covers the previous hash, so altering, reordering or deleting an
 * entry breaks every later hash, and the signed head pins the end (truncation is caught).
 */
export function hashDatasetAuditEntry(prevHash: string, entry: Omit<DatasetAuditEntry, "prevHash" | "hash">): string {
  const body = {
    seq: entry.seq,
    time: entry.time,
    dataset: entry.dataset,
    caller: entry.caller,
    action: entry.action,
    outcome: entry.outcome,
    details: entry.details,
  };
  return createHash("sha256").update(Buffer.from(prevHash, "hex")).update(canonicalJson(body)).digest("hex");
}

/** Signs a head with the server's TLS private key (the key its evidence binds). */
export function signAuditHead(payload: AuditHeadPayload, privateKey: KeyObject): SignedStatement {
  const bytes = Buffer.from(canonicalJson(payload), "utf8");
  return { payload: bytes, signature: sign("sha256", bytes, { key: privateKey, dsaEncoding: "ieee-p1363" }) };
}

/** The outcome of {@link verifyAuditLog}. */
export interface AuditVerification {
  /** True only when the signature, every hash and every link check out. */
  readonly verified: boolean;
  /** The signed head (when its signature verified). */
  readonly head?: AuditHeadPayload;
  /** Seq of the first entry that does not check out. */
  readonly brokenSeq?: number;
  /** Why verification failed, for a person. */
  readonly reason?: string;
}

/**
 * Verifies a dataset's audit log as received: the head's signature under `serverSpki` (the
 * attested key), the head names `dataset`, entries numbered 1..n in order, each linked to
 * the previous hash and hashing to its own hash, and the last one equal to the signed head.
 * Fails closed: anything unexpected is a failure.
 */
export function verifyAuditLog(
  entries: readonly DatasetAuditEntry[],
  head: SignedStatement,
  serverSpki: Uint8Array,
  dataset: string,
): AuditVerification {
  let ok = false;
  try {
    const key = createPublicKey({ key: Buffer.from(serverSpki), format: "der", type: "spki" });
    ok = verify("sha256", head.payload, { key, dsaEncoding: "ieee-p1363" }, head.signature);
  } catch {
    ok = false;
  }
  if (!ok) return { verified: false, reason: "the head's signature does not verify under the attested server key" };
  let payload: AuditHeadPayload;
  try {
    payload = JSON.parse(Buffer.from(head.payload).toString("utf8")) as AuditHeadPayload;
  } catch {
    return { verified: false, reason: "the signed head is not JSON" };
  }
  if (payload.type !== "sanctum-audit-head" || payload.version !== 1 || typeof payload.seq !== "number" || typeof payload.hash !== "string") {
    return { verified: false, reason: "the signed head is not an audit head" };
  }
  if (payload.dataset !== dataset) return { verified: false, head: payload, reason: `the signed head is for dataset ${payload.dataset}, not ${dataset}` };
  let prev = AUDIT_GENESIS_HASH;
  for (const [i, entry] of entries.entries()) {
    if (entry.seq !== i + 1) return { verified: false, head: payload, brokenSeq: entry.seq, reason: `entry ${i + 1} is numbered ${entry.seq} (missing or reordered entries)` };
    if (entry.dataset !== dataset) return { verified: false, head: payload, brokenSeq: entry.seq, reason: `entry ${entry.seq} is about another dataset` };
    if (entry.prevHash !== prev) return { verified: false, head: payload, brokenSeq: entry.seq, reason: `entry ${entry.seq} does not link to the entry before it` };
    if (hashDatasetAuditEntry(prev, entry) !== entry.hash) return { verified: false, head: payload, brokenSeq: entry.seq, reason: `entry ${entry.seq} was altered (its hash does not match its content)` };
    prev = entry.hash;
  }
  const lastSeq = entries.length;
  if (payload.seq !== lastSeq || payload.hash !== (lastSeq === 0 ? AUDIT_GENESIS_HASH : prev)) {
    return { verified: false, head: payload, brokenSeq: Math.min(payload.seq, lastSeq + 1), reason: `the log ends at entry ${lastSeq} but the signed head is entry ${payload.seq} (truncated or altered)` };
  }
  return { verified: true, head: payload };
}
