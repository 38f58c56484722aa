import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Code, ConnectError, createContextValues, type StreamRequest, type StreamResponse, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { pino } from "pino";
import { createAuditLog, type AuditLog, type AuditRecord } from "../../audit/audit-log.js";
import { openDatabase, type SanctumDatabase } from "../../storage/database.js";
import { ServerError } from "../../server-error.js";
import { AUDIT_NOTE } from "../call-context.js";
import { auditTrail } from "./audit-trail.js";

/** A real audit log on a fresh database; `entries` reads back what it wrote. */
function recorder(): { audit: AuditLog; entries: () => AuditRecord[]; db: SanctumDatabase } {
  const dir = mkdtempSync(join(tmpdir(), "sanctum-audit-trail-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase({ path: join(dir, "db") });
  after(() => db.close());
  const audit = createAuditLog(db);
  const entries = () => audit.list().map(({ caller, method, object, outcome }) => ({ caller, method, object, outcome }));
  return { audit, entries, db };
}

const request = (method: string, methodKind: string) =>
  ({ stream: methodKind !== "unary", contextValues: createContextValues(), service: { name: "TrainingService" }, method: { name: method, methodKind } }) as unknown;

describe("audit trail", () => {
  it("records a server stream's object and outcome once the stream ended, not when the handler returned", async () => {
    const { audit, entries } = recorder();
    const req = request("DownloadWeights", "server_streaming") as StreamRequest;
    const next = async (r: StreamRequest): Promise<StreamResponse> =>
      ({
        stream: true,
        message: (async function* () {
          r.contextValues.get(AUDIT_NOTE)!.object = "run_1";
          yield* [];
          throw new ServerError("permission-denied", "the weights may not leave the TEE");
        })(),
      }) as unknown as StreamResponse;
    const res = (await auditTrail({ audit, logger: pino({ level: "silent" }) })(next as never)(req)) as StreamResponse;
    assert.equal(entries().length, 0, "nothing is recorded before the stream ran");
    await assert.rejects(async () => {
      for await (const _ of res.message) void _;
    });
    assert.deepEqual(entries(), [{ caller: "anonymous", method: "TrainingService/DownloadWeights", object: "run_1", outcome: "permission_denied" }]);
  });

  it("records a unary call when the handler returned", async () => {
    const { audit, entries } = recorder();
    const req = request("GetTraining", "unary") as UnaryRequest;
    const next = async (r: UnaryRequest): Promise<UnaryResponse> => {
      r.contextValues.get(AUDIT_NOTE)!.object = "run_2";
      return { stream: false } as unknown as UnaryResponse;
    };
    await auditTrail({ audit, logger: pino({ level: "silent" }) })(next as never)(req);
    assert.deepEqual(entries(), [{ caller: "anonymous", method: "TrainingService/GetTraining", object: "run_2", outcome: "ok" }]);
  });

  it("fails closed: while the log cannot be written no call runs, and nothing recorded is lost", async () => {
    const { audit, entries, db } = recorder();
    let ran = 0;
    const next = async (): Promise<UnaryResponse> => {
      ran++;
      return { stream: false } as unknown as UnaryResponse;
    };
    const call = () => auditTrail({ audit, logger: pino({ level: "silent" }) })(next as never)(request("GetTraining", "unary") as UnaryRequest);
    await call();
    audit.flush();
    // The disk refuses writes (a trigger stands in for ENOSPC / EIO).
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(FAIL, 'disk full'); END");
    await call();
    assert.throws(() => audit.flush(), /disk full/);
    await assert.rejects(call(), (e: ConnectError) => e.code === Code.Unavailable && /cannot write its audit log/.test(e.message));
    assert.equal(ran, 2, "the refused call never reached its handler");
    db.exec("DROP TRIGGER refuse");
    await call();
    assert.equal(ran, 3, "calls run again once the log can be written");
    assert.deepEqual(entries().map((e) => e.outcome), ["ok", "ok", "unavailable", "ok"], "the entries queued while failing were written, in order");
    assert.equal(audit.verify(), undefined, "and the chain is intact");
  });
});
