import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixture, mutated, tdxBundle, TDX_NOW } from "../test-support/fixtures.js";
import { createVerificationCache } from "../verification-cache.js";
import { parseVerificationPolicy } from "../verification-policy.js";
import type { VerificationResult } from "../verification-result.js";
import { verifyEvidence } from "../verify-evidence.js";
import { parseTdxQuote } from "./tdx-quote.js";
import { checkForRelaunch, convergeStatus } from "./tdx-tcb.js";

const MRTD = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";

function codes(result: VerificationResult): string[] {
  return result.problems.map((p) => p.code);
}

function collateral(edit: (c: Record<string, string>) => void): string {
  const c = JSON.parse(tdxBundle().collateral!) as Record<string, string>;
  edit(c);
  return JSON.stringify(c);
}

/** The v4 vector re-framed as quote v5 (body type 2, TD 1.0 body): only its signature breaks. */
function asV5(quote: Uint8Array, bodyType = 2, teeTcbSvn2 = new Uint8Array(16)): Uint8Array {
  const body = quote.subarray(48, 48 + 584);
  const extra = bodyType === 3 ? Buffer.concat([teeTcbSvn2, new Uint8Array(48)]) : new Uint8Array(0);
  const frame = new Uint8Array(6);
  new DataView(frame.buffer).setUint16(0, bodyType, true);
  new DataView(frame.buffer).setUint32(2, 584 + extra.byteLength, true);
  const out = Buffer.concat([quote.subarray(0, 48), frame, body, extra, quote.subarray(48 + 584)]);
  out.writeUInt16LE(5, 0);
  return new Uint8Array(out);
}

describe("TDX verification of the real quote", () => {
  it("verifies every step inside the collateral window, with status UpToDate", async () => {
    for (const now of [TDX_NOW, new Date("2025-06-19T10:32:28Z"), new Date("2025-07-19T10:00:34Z")]) {
      const result = await verifyEvidence(tdxBundle(), { now });
      assert.deepEqual(result.problems, [], now.toISOString());
      assert.equal(result.verified, true);
    }
    const result = await verifyEvidence(tdxBundle(), { now: TDX_NOW });
    assert.equal(result.status, "UpToDate");
    assert.equal(result.mrtd, MRTD);
    assert.equal(result.rtmrs?.length, 4);
    assert.equal(result.tcb["fmspc"], "b0c06f000000");
    assert.equal(result.tcb["tdxModuleStatus"], "UpToDate");
  });

  it("accepts MRTD and RTMRs the policy lists (null meaning any)", async () => {
    const rtmrs = (await verifyEvidence(tdxBundle(), { now: TDX_NOW })).rtmrs!;
    const policy = parseVerificationPolicy(JSON.stringify({ tdx: { mrtd: [MRTD], rtmrs: [[rtmrs[0], null, rtmrs[2], null]] } }));
    assert.equal((await verifyEvidence(tdxBundle(), { now: TDX_NOW, policy })).verified, true);
  });

  it("parses quote v5 with TD 1.0 and TD 1.5 bodies, and verifies all but the re-framed signature", async () => {
    const v4 = parseTdxQuote(fixture("tdx/tdx-quote-v4.bin"));
    const v5 = parseTdxQuote(asV5(fixture("tdx/tdx-quote-v4.bin")));
    assert.equal(v5.version, 5);
    assert.deepEqual(v5.body.mrtd, v4.body.mrtd);
    assert.deepEqual(v5.body.reportData, v4.body.reportData);
    const td15 = parseTdxQuote(asV5(fixture("tdx/tdx-quote-v4.bin"), 3));
    assert.equal(td15.bodyType, 3);
    assert.equal(td15.body.mrServiceTd?.byteLength, 48);
    const result = await verifyEvidence(tdxBundle(asV5(fixture("tdx/tdx-quote-v4.bin"))), { now: TDX_NOW });
    assert.deepEqual(codes(result), ["signature"]);
  });
});

describe("TD 1.5 bodies rate the TCB running now (TEE_TCB_SVN2)", () => {
  const quote = fixture("tdx/tdx-quote-v4.bin");
  const launchSvn = quote.slice(0x30, 0x40);

  it("rates both SVN arrays: same as launch gives the launch status", async () => {
    const result = await verifyEvidence(tdxBundle(asV5(quote, 3, launchSvn)), { now: TDX_NOW });
    assert.deepEqual(codes(result), ["signature"]);
    assert.equal(result.status, "UpToDate");
  });

  it("advises a relaunch when the TD launched on an out-of-date module that has been updated", async () => {
    const oldLaunch = mutated(quote, (q) => (q[0x30] = 3));
    const result = await verifyEvidence(tdxBundle(asV5(oldLaunch, 3, launchSvn)), { now: TDX_NOW });
    assert.equal(result.status, "TDRelaunchAdvised");
    assert.deepEqual(codes(result).sort(), ["signature", "tcb-status"]);
  });

  it("names TEE_TCB_SVN2 when it is below every level", async () => {
    const result = await verifyEvidence(tdxBundle(asV5(quote, 3)), { now: TDX_NOW });
    assert.ok(result.problems.some((p) => p.code === "tcb-level-not-found" && /TEE_TCB_SVN2/.test(p.message)), codes(result).join(","));
  });

  it("follows Intel's relaunch rule", () => {
    assert.equal(checkForRelaunch("OutOfDate", "UpToDate"), "TDRelaunchAdvised");
    assert.equal(checkForRelaunch("OutOfDate", "ConfigurationNeeded"), "TDRelaunchAdvisedConfigurationNeeded");
    assert.equal(checkForRelaunch("OutOfDateConfigurationNeeded", "UpToDate"), "TDRelaunchAdvisedConfigurationNeeded");
    assert.equal(checkForRelaunch("OutOfDate", "OutOfDate"), "OutOfDate");
    assert.equal(checkForRelaunch("UpToDate", "OutOfDate"), "UpToDate");
    assert.equal(checkForRelaunch("Revoked", "UpToDate"), "Revoked");
  });
});

describe("TDX mutations each fail with a problem naming the cause", () => {
  it("a flipped byte anywhere in the signed header and body breaks the quote signature", async () => {
    const cache = createVerificationCache();
    const quote = fixture("tdx/tdx-quote-v4.bin");
    for (let offset = 0; offset < 0x278; offset += 5) {
      const result = await verifyEvidence(tdxBundle(mutated(quote, (q) => (q[offset]! ^= 0x04))), { now: TDX_NOW, cache });
      assert.equal(result.verified, false);
      // Version and TEE type change how the quote parses; those name the parse cause.
      const parseField = offset < 2 || (offset >= 4 && offset < 8);
      assert.ok(codes(result).includes("signature") || (parseField && codes(result).includes("malformed-evidence")), `offset ${offset}: ${codes(result).join(",")}`);
    }
  });

  it("a flipped byte in the QE report, its signature or the attestation key is named", async () => {
    const quote = fixture("tdx/tdx-quote-v4.bin");
    const qeReport = 0x278 + 4 + 128 + 6;
    const report = await verifyEvidence(tdxBundle(mutated(quote, (q) => (q[qeReport + 100]! ^= 1))), { now: TDX_NOW });
    assert.deepEqual(codes(report), ["qe-report-signature"]);
    const signature = await verifyEvidence(tdxBundle(mutated(quote, (q) => (q[qeReport + 384 + 10]! ^= 1))), { now: TDX_NOW });
    assert.deepEqual(codes(signature), ["qe-report-signature"]);
    const key = await verifyEvidence(tdxBundle(mutated(quote, (q) => (q[0x278 + 4 + 64 + 5]! ^= 1))), { now: TDX_NOW });
    assert.ok(codes(key).includes("signature") && codes(key).includes("qe-report-data"), codes(key).join(","));
  });

  it("names the debug attribute even though the mutated quote's signature also fails", async () => {
    const result = await verifyEvidence(tdxBundle(mutated(fixture("tdx/tdx-quote-v4.bin"), (q) => (q[0xa8]! |= 1))), { now: TDX_NOW });
    assert.deepEqual(codes(result).sort(), ["debug", "signature"]);
  });

  it("reports expired collateral and certificates after their windows", async () => {
    const late = await verifyEvidence(tdxBundle(), { now: new Date("2025-08-01T00:00:00Z") });
    assert.ok(late.problems.length >= 3 && late.problems.every((p) => p.code === "collateral-expired"), codes(late).join(","));
    assert.ok(late.problems.some((p) => /TCB info expired at 2025-07-19T10:16:03/.test(p.message)));
    const farFuture = await verifyEvidence(tdxBundle(), { now: new Date("2033-06-01T00:00:00Z") });
    assert.ok(codes(farFuture).includes("certificate-expired"));
    assert.ok(farFuture.problems.some((p) => p.code === "certificate-expired" && /Intel SGX PCK Platform CA/.test(p.message)));
  });

  it("refuses an MRTD or RTMR set the policy does not list", async () => {
    const policy = parseVerificationPolicy(JSON.stringify({ tdx: { mrtd: ["00".repeat(48)], rtmrs: [["11".repeat(48), null, null, null]] } }));
    assert.deepEqual(codes(await verifyEvidence(tdxBundle(), { now: TDX_NOW, policy })).sort(), ["mrtd", "rtmr"]);
  });

  it("refuses wrong report data", async () => {
    assert.deepEqual(codes(await verifyEvidence(tdxBundle(), { now: TDX_NOW, expectedReportData: new Uint8Array(64) })), ["report-data"]);
  });

  it("refuses a TCB whose status the policy does not accept, and an out-of-date TDX module", async () => {
    const strict = parseVerificationPolicy(JSON.stringify({ tdx: { acceptedStatuses: ["SWHardeningNeeded"] } }));
    const result = await verifyEvidence(tdxBundle(), { now: TDX_NOW, policy: strict });
    assert.deepEqual(codes(result), ["tcb-status"]);
    assert.match(result.problems[0]!.message, /UpToDate/);
    // TEE_TCB_SVN[0] is the TDX module's SVN: 3 falls to TDX_01's OutOfDate level (isvsvn 2).
    const old = await verifyEvidence(tdxBundle(mutated(fixture("tdx/tdx-quote-v4.bin"), (q) => (q[0x30] = 3))), { now: TDX_NOW });
    assert.equal(old.status, "OutOfDate");
    assert.deepEqual(codes(old).sort(), ["signature", "tcb-status"]);
    const accepting = parseVerificationPolicy(JSON.stringify({ tdx: { acceptedStatuses: ["UpToDate", "OutOfDate"] } }));
    assert.deepEqual(codes(await verifyEvidence(tdxBundle(mutated(fixture("tdx/tdx-quote-v4.bin"), (q) => (q[0x30] = 3))), { now: TDX_NOW, policy: accepting })), ["signature"]);
    const below = await verifyEvidence(tdxBundle(mutated(fixture("tdx/tdx-quote-v4.bin"), (q) => (q[0x32] = 1))), { now: TDX_NOW });
    assert.ok(codes(below).includes("tcb-level-not-found"), codes(below).join(","));
  });

  it("refuses altered collateral: TCB info or QE identity text, FMSPC, swapped CRLs, missing collateral", async () => {
    const tcb = await verifyEvidence(tdxBundle(undefined, collateral((c) => (c["tcb_info"] = c["tcb_info"]!.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18')))), { now: TDX_NOW });
    assert.deepEqual(codes(tcb), ["collateral-signature"]);
    const fmspc = await verifyEvidence(tdxBundle(undefined, collateral((c) => (c["tcb_info"] = c["tcb_info"]!.replace("B0C06F000000", "B0C06F000001")))), { now: TDX_NOW });
    assert.deepEqual(codes(fmspc).sort(), ["collateral-signature", "fmspc-mismatch"]);
    const qe = await verifyEvidence(tdxBundle(undefined, collateral((c) => (c["qe_identity"] = c["qe_identity"]!.replace('"isvprodid":2', '"isvprodid":3')))), { now: TDX_NOW });
    assert.deepEqual(codes(qe).sort(), ["collateral-signature", "qe-identity"]);
    const swapped = await verifyEvidence(tdxBundle(undefined, collateral((c) => ([c["pck_crl"], c["root_ca_crl"]] = [c["root_ca_crl"]!, c["pck_crl"]!]))), { now: TDX_NOW });
    assert.deepEqual(codes(swapped), ["crl-signature", "crl-signature"]);
    const missing = await verifyEvidence({ ...tdxBundle(), collateral: undefined } as never, { now: TDX_NOW });
    assert.deepEqual(codes(missing), ["collateral-missing"]);
    const broken = await verifyEvidence(tdxBundle(undefined, "{"), { now: TDX_NOW });
    assert.deepEqual(codes(broken), ["collateral-malformed"]);
  });

  it("converges platform, TDX module and QE statuses as Intel's QVL does", () => {
    assert.equal(convergeStatus("UpToDate", "UpToDate", "UpToDate"), "UpToDate");
    assert.equal(convergeStatus("SWHardeningNeeded", "OutOfDate", "UpToDate"), "OutOfDate");
    assert.equal(convergeStatus("ConfigurationNeeded", "UpToDate", "OutOfDate"), "OutOfDateConfigurationNeeded");
    assert.equal(convergeStatus("UpToDate", "UpToDate", "Revoked"), "Revoked");
    assert.equal(convergeStatus("ConfigurationAndSWHardeningNeeded", "UpToDate", "UpToDate"), "ConfigurationAndSWHardeningNeeded");
  });

  it("reports malformed quotes without throwing", async () => {
    assert.deepEqual(codes(await verifyEvidence(tdxBundle(new Uint8Array(10)), { now: TDX_NOW })), ["malformed-evidence"]);
    const quote = fixture("tdx/tdx-quote-v4.bin");
    assert.deepEqual(codes(await verifyEvidence(tdxBundle(mutated(quote, (q) => (q[q.length - 1] = 1))), { now: TDX_NOW })), ["malformed-evidence"]);
  });
});
