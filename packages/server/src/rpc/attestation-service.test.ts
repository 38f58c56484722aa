import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { createHandlerContext } from "@connectrpc/connect";
import { createSimulationProvider } from "@sanctum/attestation";
import { AttestationService, GetEvidenceRequestSchema } from "@sanctum/protocol";
import { ServerError } from "../server-error.js";
import { createAttestationService } from "./attestation-service.js";

describe("GetEvidence", () => {
  it("answers a burst, refuses the flood past it with ResourceExhausted, and recovers at the set rate", async () => {
    const provider = createSimulationProvider({ serverVersion: "test", configDigest: "0".repeat(64) });
    let now = 0;
    const service = createAttestationService({ provider, spki: randomBytes(91), rate: { perSecond: 2, burst: 3 }, clock: () => now });
    const call = async () => service.getEvidence!(create(GetEvidenceRequestSchema, { nonce: randomBytes(32) }), createHandlerContext({ service: AttestationService, method: AttestationService.method.getEvidence, protocolName: "test", requestMethod: "POST", url: "https://localhost/" }));
    for (let i = 0; i < 3; i++) assert.equal((await call()).platform, "simulation");
    await assert.rejects(call(), (e: Error) => e instanceof ServerError && e.code === "resource-exhausted" && /more than 2 attestation requests a second: retry/.test(e.message));
    now += 500; // one token back
    assert.equal((await call()).platform, "simulation");
    await assert.rejects(call(), (e: Error) => e instanceof ServerError && e.code === "resource-exhausted");
  });
});
