import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createContextValues, type StreamRequest, type StreamResponse, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { pino } from "pino";
import type { AuditLog, AuditRecord } from "../../audit/audit-log.js";
import { ServerError } from "../../server-error.js";
import { AUDIT_NOTE } from "../call-context.js";
import { auditTrail } from "./audit-trail.js";

function recorder(): { audit: AuditLog; entries: AuditRecord[] } {
  const entries: AuditRecord[] = [];
  const audit = { append: (r: AuditRecord) => entries.push(r) } as unknown as AuditLog;
  return { audit, entries };
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
    assert.equal(entries.length, 0, "nothing is recorded before the stream ran");
    await assert.rejects(async () => {
      for await (const _ of res.message) void _;
    });
    assert.deepEqual(entries, [{ caller: "anonymous", method: "TrainingService/DownloadWeights", object: "run_1", outcome: "permission_denied" }]);
  });

  it("records a unary call when the handler returned", async () => {
    const { audit, entries } = recorder();
    const req = request("GetTraining", "unary") as UnaryRequest;
    const next = async (r: UnaryRequest): Promise<UnaryResponse> => {
      r.contextValues.get(AUDIT_NOTE)!.object = "run_2";
      return { stream: false } as unknown as UnaryResponse;
    };
    await auditTrail({ audit, logger: pino({ level: "silent" }) })(next as never)(req);
    assert.deepEqual(entries, [{ caller: "anonymous", method: "TrainingService/GetTraining", object: "run_2", outcome: "ok" }]);
  });
});
