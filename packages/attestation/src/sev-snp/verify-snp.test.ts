import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { computeReportData } from "../report-data.js";
import { fixture, fixturePem, milanBundle, MILAN_NOW, mutated, vlekBundle, VLEK_NOW } from "../test-support/fixtures.js";
import { createVerificationCache } from "../verification-cache.js";
import { DEFAULT_POLICY, parseVerificationPolicy, type VerificationPolicy } from "../verification-policy.js";
import type { VerificationResult } from "../verification-result.js";
import { verifyEvidence } from "../verify-evidence.js";
import { AMD_ROOTS } from "./amd-roots.js";

function codes(result: VerificationResult): string[] {
  return result.problems.map((p) => p.code);
}

function policy(json: object): VerificationPolicy {
  return parseVerificationPolicy(JSON.stringify(json));
}

describe("SEV-SNP verification of the real vectors", () => {
  it("verifies the AWS VLEK report (v3, VMPL 1, masked chip_id) inside its window", async () => {
    const result = await verifyEvidence(vlekBundle(), { now: VLEK_NOW });
    assert.deepEqual(result.problems, []);
    assert.equal(result.verified, true);
    assert.equal(result.status, "ok");
    assert.equal(result.measurement, "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0");
    assert.equal(result.tcb["reportedTcb"], "04000000000018d9");
    assert.equal(result.tcb["signingKey"], "vlek");
    assert.equal(result.tcb["product"], "Milan");
    assert.deepEqual([result.tcb["bootloader"], result.tcb["tee"], result.tcb["snp"], result.tcb["microcode"]], [4, 0, 24, 0xd9]);
  });

  it("verifies every step of the Milan VCEK report (v2), and refuses it only because its guest policy allows debugging", async () => {
    // The vector's guest policy is 0xb0000: bit 19 (DEBUG) is set, so the hypervisor may decrypt
    // the guest's memory. Signature, chain, extensions and TCB all verify; debug is always refused.
    const result = await verifyEvidence(milanBundle(), { now: MILAN_NOW });
    assert.deepEqual(codes(result), ["debug"]);
    assert.equal(result.verified, false);
    assert.equal(result.measurement, "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01");
    assert.equal(result.reportData, "0102030405" + "00".repeat(59));
    assert.deepEqual([result.tcb["bootloader"], result.tcb["tee"], result.tcb["snp"], result.tcb["microcode"]], [2, 0, 5, 0x44]);
    assert.equal(result.tcb["guestPolicy"], "0xb0000");
  });

  it("needs only the VCEK or VLEK: the ASK, ASVK and ARK ship with the package", async () => {
    const vlek = vlekBundle();
    const result = await verifyEvidence({ ...vlek, certificates: vlek.certificates.slice(0, 1) }, { now: VLEK_NOW });
    assert.equal(result.verified, true, JSON.stringify(result.problems));
    const milan = milanBundle();
    assert.deepEqual(codes(await verifyEvidence({ ...milan, certificates: milan.certificates.slice(0, 1) }, { now: MILAN_NOW })), ["debug"]);
  });

  it("pins the ARKs whose fingerprints the vectors' README lists", () => {
    assert.equal(AMD_ROOTS.Milan.arkSha256, "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd");
    assert.equal(AMD_ROOTS.Genoa.arkSha256, "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1");
    assert.equal(AMD_ROOTS.Turin.arkSha256, "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a");
    for (const [product, file] of [["Milan", "ask_ark_milan.pem"], ["Genoa", "ask_ark_genoa.pem"], ["Turin", "ask_ark_turin_vcek.pem"]] as const) {
      const ark = fixturePem(`sev-snp/${file}`)[1]!;
      assert.equal(createHash("sha256").update(ark).digest("hex"), AMD_ROOTS[product].arkSha256);
    }
  });

  it("checks the report data against the binding or the expected value", async () => {
    const expected = new Uint8Array(64);
    expected.set([1, 2, 3, 4, 5]);
    assert.deepEqual(codes(await verifyEvidence(milanBundle(), { now: MILAN_NOW, expectedReportData: expected })), ["debug"]);
    const wrong = await verifyEvidence(vlekBundle(), { now: VLEK_NOW, expectedReportData: expected });
    assert.deepEqual(codes(wrong), ["report-data"]);
    const bound = await verifyEvidence({ ...vlekBundle(), binding: { spki: new Uint8Array(10), nonce: new Uint8Array(32) } }, { now: VLEK_NOW });
    assert.deepEqual(codes(bound), ["report-data"]);
    assert.notDeepEqual(computeReportData(new Uint8Array(10), new Uint8Array(32)), fixture("sev-snp/aws-vlek-report.bin").subarray(0x50, 0x90));
  });
});

describe("SEV-SNP mutations each fail with a problem naming the cause", () => {
  it("a flipped byte anywhere in the signed part breaks the signature", async () => {
    const cache = createVerificationCache();
    for (const [bundle, now] of [[vlekBundle, VLEK_NOW], [milanBundle, MILAN_NOW]] as const) {
      const original = bundle().report;
      for (let offset = 0; offset < 0x2a0; offset += 3) {
        const report = mutated(original, (r) => (r[offset]! ^= 0x01));
        const result = await verifyEvidence({ ...bundle(), report }, { now, cache });
        assert.equal(result.verified, false, `offset ${offset}`);
        // The version word and signer field change how the report parses: those name the parse
        // or key-type cause instead; everything else must name the broken signature.
        const parseField = offset < 4 || (offset >= 0x48 && offset < 0x4c);
        assert.ok(codes(result).includes("signature") || (parseField && result.problems.length > 0), `offset ${offset}: ${codes(result).join(",")}`);
      }
    }
  });

  it("a flipped byte in the signature itself breaks the signature", async () => {
    for (const offset of [0x2a0, 0x2a0 + 47, 0x2a0 + 72, 0x2a0 + 72 + 47]) {
      const report = mutated(vlekBundle().report, (r) => (r[offset]! ^= 0x80));
      assert.deepEqual(codes(await verifyEvidence({ ...vlekBundle(), report }, { now: VLEK_NOW })), ["signature"]);
    }
  });

  it("names the debug bit even though the mutated report's signature also fails", async () => {
    const report = mutated(vlekBundle().report, (r) => (r[0x0a]! |= 0x08)); // policy bit 19
    const result = await verifyEvidence({ ...vlekBundle(), report }, { now: VLEK_NOW });
    assert.deepEqual(codes(result).sort(), ["debug", "signature"]);
    assert.match(result.problems.find((p) => p.code === "debug")!.message, /debug/);
  });

  it("refuses the wrong product's chain (Genoa chain for a Milan report)", async () => {
    const result = await verifyEvidence(milanBundle(undefined, "sev-snp/ask_ark_genoa.pem"), { now: MILAN_NOW });
    assert.ok(codes(result).includes("certificate-chain"), codes(result).join(","));
    assert.ok(codes(result).includes("product-mismatch"), codes(result).join(","));
    assert.match(result.problems.find((p) => p.code === "certificate-chain")!.message, /SEV-Genoa/);
    const vlek = await verifyEvidence(vlekBundle(undefined, "sev-snp/ask_ark_genoa_vlek.pem"), { now: VLEK_NOW });
    assert.ok(codes(vlek).includes("certificate-chain") && codes(vlek).includes("product-mismatch"), codes(vlek).join(","));
  });

  it("refuses a supplied ARK of another product even with the right ASK", async () => {
    const [ask] = fixturePem("sev-snp/ask_ark_milan.pem");
    const [, genoaArk] = fixturePem("sev-snp/ask_ark_genoa.pem");
    const bundle = { ...milanBundle(), certificates: [fixture("sev-snp/milan-vcek.der"), ask!, genoaArk!] };
    const result = await verifyEvidence(bundle, { now: MILAN_NOW });
    assert.ok(codes(result).includes("untrusted-root"), codes(result).join(","));
    assert.match(result.problems.find((p) => p.code === "untrusted-root")!.message, /ARK-Genoa.*ARK-Milan/);
  });

  it("reports certificates as expired after their window", async () => {
    const vlek = await verifyEvidence(vlekBundle(), { now: new Date("2025-12-11T00:00:00Z") });
    assert.deepEqual(codes(vlek), ["certificate-expired"]);
    assert.match(vlek.problems[0]!.message, /VLEK expired at 2025-12-10T22:14:21/);
    const early = await verifyEvidence(vlekBundle(), { now: new Date("2024-12-01T00:00:00Z") });
    assert.deepEqual(codes(early), ["certificate-not-yet-valid"]);
    const milan = await verifyEvidence(milanBundle(), { now: new Date("2029-10-01T00:00:00Z") });
    assert.ok(codes(milan).includes("certificate-expired"));
  });

  it("refuses a measurement or host_data the policy does not list", async () => {
    const result = await verifyEvidence(vlekBundle(), { now: VLEK_NOW, policy: policy({ sevSnp: { measurements: ["ab".repeat(48)], hostData: ["cd".repeat(32)] } }) });
    assert.deepEqual(codes(result).sort(), ["host-data", "measurement"]);
    const listed = policy({ sevSnp: { measurements: ["ab".repeat(48), "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0"] } });
    assert.equal((await verifyEvidence(vlekBundle(), { now: VLEK_NOW, policy: listed })).verified, true);
  });

  it("refuses a TCB below the policy's minimum and a VMPL above its maximum", async () => {
    const below = await verifyEvidence(vlekBundle(), { now: VLEK_NOW, policy: policy({ sevSnp: { minimumTcb: { snp: 25, bootloader: 4 } } }) });
    assert.deepEqual(codes(below), ["tcb-below-minimum"]);
    assert.match(below.problems[0]!.message, /snp SPL is 24, below the policy's minimum 25/);
    const ok = await verifyEvidence(vlekBundle(), { now: VLEK_NOW, policy: policy({ sevSnp: { minimumTcb: { snp: 24, microcode: 0xd9, fmc: 9 } } }) });
    assert.equal(ok.verified, true);
    assert.deepEqual(codes(await verifyEvidence(vlekBundle(), { now: VLEK_NOW, policy: policy({ sevSnp: { maxVmpl: 0 } }) })), ["vmpl"]);
  });

  it("checks reported_tcb against the certificate's SPLs and chip_id against its hwID", async () => {
    const tcb = mutated(milanBundle().report, (r) => (r[0x186]! = 4)); // snp SPL 5 -> 4
    const tcbResult = await verifyEvidence({ ...milanBundle(), report: tcb }, { now: MILAN_NOW });
    assert.ok(codes(tcbResult).includes("tcb-mismatch") && codes(tcbResult).includes("signature"), codes(tcbResult).join(","));
    const chip = mutated(milanBundle().report, (r) => (r[0x1a0]! ^= 0xff));
    const chipResult = await verifyEvidence({ ...milanBundle(), report: chip }, { now: MILAN_NOW });
    assert.ok(codes(chipResult).includes("chip-id-mismatch"), codes(chipResult).join(","));
  });

  it("refuses a report signed by a VLEK checked with a VCEK, and missing certificates", async () => {
    const swapped = { ...vlekBundle(), certificates: milanBundle().certificates };
    assert.ok(codes(await verifyEvidence(swapped, { now: VLEK_NOW })).includes("signing-key-mismatch"));
    const none = await verifyEvidence({ ...vlekBundle(), certificates: [] }, { now: VLEK_NOW });
    assert.deepEqual(codes(none), ["certificate-missing"]);
    const garbage = await verifyEvidence({ ...vlekBundle(), certificates: [new Uint8Array([0x30, 0x03, 1, 2, 3])] }, { now: VLEK_NOW });
    assert.deepEqual(codes(garbage), ["certificate-malformed", "certificate-missing"]);
  });

  it("reports a malformed report and a platform the policy does not allow", async () => {
    const short = await verifyEvidence({ ...vlekBundle(), report: new Uint8Array(100) }, { now: VLEK_NOW });
    assert.deepEqual(codes(short), ["malformed-evidence"]);
    const tdxOnly = await verifyEvidence(vlekBundle(), { now: VLEK_NOW, policy: { ...DEFAULT_POLICY, platforms: ["tdx"] } });
    assert.deepEqual(codes(tdxOnly), ["platform"]);
  });

  it("reuses verified chains from a cache but still checks validity at each call's time", async () => {
    const cache = createVerificationCache();
    assert.equal((await verifyEvidence(vlekBundle(), { now: VLEK_NOW, cache })).verified, true);
    assert.ok(cache.size > 0);
    assert.equal((await verifyEvidence(vlekBundle(), { now: VLEK_NOW, cache })).verified, true);
    assert.deepEqual(codes(await verifyEvidence(vlekBundle(), { now: new Date("2026-01-01T00:00:00Z"), cache })), ["certificate-expired"]);
    const wrong = await verifyEvidence(vlekBundle(undefined, "sev-snp/ask_ark_genoa_vlek.pem"), { now: VLEK_NOW, cache });
    assert.equal(wrong.verified, false);
  });
});
