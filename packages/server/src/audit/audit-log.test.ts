import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../storage/database.js";
import { createAuditLog, hashAuditEntry } from "./audit-log.js";

describe("audit log", () => {
  it("chains entries by hash and detects an edited or deleted entry", () => {
    const dir = mkdtempSync(join(tmpdir(), "sanctum-audit-"));
    try {
      const db = openDatabase({ path: join(dir, "db") });
      let t = 0;
      const audit = createAuditLog(db, { now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)) });
      const a = audit.append({ caller: "ed25519:a", method: "ModelService/Predict", object: "mdl_1", outcome: "ok" });
      const b = audit.append({ caller: "anonymous", method: "AttestationService/GetEvidence", object: "", outcome: "ok" });
      const c = audit.append({ caller: "ed25519:c", method: "ModelService/DeleteModel", object: 'mdl_"\u00e9\u2028', outcome: "permission_denied" });
      const { prevHash: _cp, hash: _ch, ...cBody } = c;
      assert.equal(c.hash, hashAuditEntry(b.hash, cBody), "the append path hashes like hashAuditEntry, escapes included");
      assert.equal(a.seq, 1);
      assert.equal(a.prevHash, "0".repeat(64));
      assert.equal(b.prevHash, a.hash);
      const { prevHash: _p, hash: _h, ...body } = b;
      assert.equal(b.hash, hashAuditEntry(a.hash, body));
      assert.deepEqual(audit.head(), { seq: 3, hash: audit.list()[2]!.hash });
      const reopened = createAuditLog(db);
      assert.deepEqual(reopened.head(), audit.head(), "a reopened log continues the chain");
      assert.equal(audit.verify(), undefined);
      assert.deepEqual(audit.list({ afterSeq: 1, limit: 1 }).map((e) => e.seq), [2]);

      db.prepare("UPDATE audit_log SET caller = 'ed25519:x' WHERE seq = 2").run();
      assert.equal(audit.verify(), 2);
      db.prepare("UPDATE audit_log SET caller = 'anonymous' WHERE seq = 2").run();
      assert.equal(audit.verify(), undefined);
      db.prepare("DELETE FROM audit_log WHERE seq = 2").run();
      assert.equal(audit.verify(), 3);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
