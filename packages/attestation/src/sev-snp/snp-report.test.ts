import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixture, mutated } from "../test-support/fixtures.js";
import { parseSnpReport } from "./snp-report.js";
import { decodeSnpTcb, productFromCommonName, productFromCpuid } from "./snp-tcb.js";

describe("parseSnpReport", () => {
  it("reads the fields of a version 2 and a version 3 report", () => {
    const milan = parseSnpReport(fixture("sev-snp/milan-report.bin"));
    assert.equal(milan.version, 2);
    assert.equal(milan.vmpl, 0);
    assert.equal(milan.policy, 0xb0000n);
    assert.equal(milan.signingKey, "vcek");
    assert.equal(milan.cpuid, undefined);
    assert.equal(Buffer.from(milan.reportedTcb).toString("hex"), "0200000000000544");
    const aws = parseSnpReport(fixture("sev-snp/aws-vlek-report.bin"));
    assert.equal(aws.version, 3);
    assert.equal(aws.vmpl, 1);
    assert.equal(aws.signingKey, "vlek");
    assert.deepEqual(aws.cpuid, { family: 0x19, model: 0x01, stepping: 0x01 });
    assert.ok(aws.chipId.every((b) => b === 0));
  });

  it("accepts versions 2 to 5 and refuses others", () => {
    for (const version of [2, 3, 4, 5]) {
      assert.equal(parseSnpReport(mutated(fixture("sev-snp/aws-vlek-report.bin"), (r) => (r[0] = version))).version, version);
    }
    for (const version of [0, 1, 6, 255]) {
      assert.throws(() => parseSnpReport(mutated(fixture("sev-snp/aws-vlek-report.bin"), (r) => (r[0] = version))), { code: "malformed-evidence" });
    }
  });

  it("refuses wrong sizes and reserved signing keys", () => {
    const report = fixture("sev-snp/aws-vlek-report.bin");
    assert.throws(() => parseSnpReport(report.subarray(0, 1183)), { code: "malformed-evidence" });
    assert.throws(() => parseSnpReport(new Uint8Array(1185)), { code: "malformed-evidence" });
    assert.throws(() => parseSnpReport(mutated(report, (r) => (r[0x48] = 2 << 2))), { code: "malformed-evidence" });
    assert.equal(parseSnpReport(mutated(report, (r) => (r[0x48] = 7 << 2))).signingKey, "none");
  });

  it("marks a signature whose high bytes are not zero as absent", () => {
    assert.equal(parseSnpReport(mutated(fixture("sev-snp/aws-vlek-report.bin"), (r) => (r[0x2a0 + 60] = 1))).signature, undefined);
  });
});

describe("SNP TCB layouts and product lines", () => {
  it("decodes Milan/Genoa and Turin TCB_VERSION layouts", () => {
    const bytes = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(decodeSnpTcb(bytes, "Milan"), { bootloader: 1, tee: 2, snp: 7, microcode: 8 });
    assert.deepEqual(decodeSnpTcb(bytes, "Genoa"), { bootloader: 1, tee: 2, snp: 7, microcode: 8 });
    assert.deepEqual(decodeSnpTcb(bytes, "Turin"), { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 8 });
  });

  it("maps CPUID and certificate names to product lines", () => {
    assert.equal(productFromCpuid(0x19, 0x01), "Milan");
    assert.equal(productFromCpuid(0x19, 0x11), "Genoa");
    assert.equal(productFromCpuid(0x19, 0xa0), "Genoa");
    assert.equal(productFromCpuid(0x1a, 0x02), "Turin");
    assert.equal(productFromCpuid(0x17, 0x31), undefined);
    assert.equal(productFromCommonName("ARK-Turin"), "Turin");
    assert.equal(productFromCommonName("SEV-VLEK-Genoa"), "Genoa");
    assert.equal(productFromCommonName("SEV-VCEK"), undefined);
  });
});
