import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AUDIT_GENESIS_HASH, hashDatasetAuditEntry } from "@sanctum/protocol";
import { openDatabase } from "../storage/database.js";
import { ServerError } from "../server-error.js";
import { createDatasetAuditLog, deriveAuditKey } from "./dataset-audit-log.js";

const key = deriveAuditKey(new Uint8Array(32).fill(7));

describe("per-dataset audit chains", () => {
  it("chains each dataset separately from the genesis hash", () => {
    const db = openDatabase({ path: ":memory:" });
    const log = createDatasetAuditLog(db, key, () => new Date("2026-01-01T00:00:00Z"));
    const a1 = log.append({ dataset: "ds_a", caller: "c", action: "upload", outcome: "ok", details: { rows: 3 } });
    log.append({ dataset: "ds_b", caller: "c", action: "upload", outcome: "ok" });
    const a2 = log.append({ dataset: "ds_a", caller: "x", action: "describe", outcome: "permission_denied" });
    assert.equal(a1.seq, 1);
    assert.equal(a1.prevHash, AUDIT_GENESIS_HASH);
    assert.equal(a2.seq, 2);
    assert.equal(a2.prevHash, a1.hash);
    assert.equal(a1.details, '{"rows":3}');
    const { entries, head } = log.read("ds_a");
    assert.deepEqual(entries.map((e) => e.seq), [1, 2]);
    assert.deepEqual(head, { seq: 2, hash: a2.hash });
    assert.equal(hashDatasetAuditEntry(a1.hash, entries[1]!), a2.hash);
    assert.deepEqual(log.read("ds_none"), { entries: [], head: { seq: 0, hash: AUDIT_GENESIS_HASH } });
  });

  it("refuses a head rewritten in the database (its MAC fails), for reads and appends", () => {
    const db = openDatabase({ path: ":memory:" });
    const log = createDatasetAuditLog(db, key);
    log.append({ dataset: "ds_a", caller: "c", action: "upload", outcome: "ok" });
    const forged = hashDatasetAuditEntry(AUDIT_GENESIS_HASH, { seq: 1, time: "t", dataset: "ds_a", caller: "c", action: "upload", outcome: "ok", details: "{}" });
    db.prepare("UPDATE dataset_audit_heads SET hash = ? WHERE dataset_id = 'ds_a'").run(forged);
    const corrupt = (err: unknown) => err instanceof ServerError && err.code === "storage-corrupt";
    assert.throws(() => log.read("ds_a"), corrupt);
    assert.throws(() => log.append({ dataset: "ds_a", caller: "c", action: "budget", outcome: "ok" }), corrupt);
    // Another key (another server's sealing key) cannot vouch for the head either.
    const other = createDatasetAuditLog(db, deriveAuditKey(new Uint8Array(32).fill(8)));
    assert.throws(() => other.read("ds_a"), corrupt);
  });
});
