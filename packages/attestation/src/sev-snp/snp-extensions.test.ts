import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCertificate } from "../internal/certificate.js";
import { fixture, mutated } from "../test-support/fixtures.js";
import { checkSnpExtensions, leafProduct } from "./snp-extensions.js";
import { parseSnpReport } from "./snp-report.js";

// fixtures/synthetic/turin-vcek-synthetic.der: self-signed, Turin extension layout, SPLs
// fmc 1, bl 2, tee 3, snp 4, ucode 5, hwID 0102030405060708 (see make-turin-vcek.sh).
const turinVcek = parseCertificate(fixture("synthetic/turin-vcek-synthetic.der"));

/** A v3 report shaped as a Turin chip would make it (its signature is irrelevant here). */
function turinReport(edit: (r: Uint8Array) => void = () => {}): ReturnType<typeof parseSnpReport> {
  return parseSnpReport(
    mutated(fixture("sev-snp/aws-vlek-report.bin"), (r) => {
      r[0x48] = 0; // signed by a VCEK
      r.set([0x1a, 0x02, 0x00], 0x188); // CPUID family 1Ah: Turin
      r.set([1, 2, 3, 4, 0, 0, 0, 5], 0x180); // reported_tcb: fmc, bl, tee, snp, reserved x3, ucode
      r.fill(0, 0x1a0, 0x1e0);
      r.set([1, 2, 3, 4, 5, 6, 7, 8], 0x1a0); // chip_id: 8-byte Turin ID, rest zero
      edit(r);
    }),
  );
}

describe("VCEK/VLEK extension checks", () => {
  it("accepts Turin's TCB layout and 8-byte hwID", () => {
    assert.deepEqual(leafProduct(turinVcek), { name: "Turin-B0", product: "Turin" });
    assert.deepEqual(checkSnpExtensions(turinVcek, turinReport(), "Turin"), []);
  });

  it("names the SPL that differs from reported_tcb", () => {
    const problems = checkSnpExtensions(turinVcek, turinReport((r) => (r[0x181] = 9)), "Turin");
    assert.deepEqual(problems.map((p) => p.code), ["tcb-mismatch"]);
    assert.match(problems[0]!.message, /bootloader SPL is 2 but the report's reported_tcb has 9/);
    // Read with Milan's layout the same bytes mismatch: the layout matters.
    assert.ok(checkSnpExtensions(turinVcek, turinReport(), "Milan").some((p) => p.code === "tcb-mismatch" || p.code === "certificate-extension"));
  });

  it("compares hwID with chip_id's first 8 bytes and requires the rest zero", () => {
    assert.deepEqual(checkSnpExtensions(turinVcek, turinReport((r) => (r[0x1a3] ^= 1)), "Turin").map((p) => p.code), ["chip-id-mismatch"]);
    assert.deepEqual(checkSnpExtensions(turinVcek, turinReport((r) => (r[0x1b0] = 1)), "Turin").map((p) => p.code), ["chip-id-mismatch"]);
    // A masked (all-zero) chip_id is not compared.
    assert.deepEqual(checkSnpExtensions(turinVcek, turinReport((r) => r.fill(0, 0x1a0, 0x1e0)), "Turin"), []);
  });

  it("checks the Milan VCEK's 64-byte hwID and SPLs against the real report", () => {
    const vcek = parseCertificate(fixture("sev-snp/milan-vcek.der"));
    const report = parseSnpReport(fixture("sev-snp/milan-report.bin"));
    assert.deepEqual(checkSnpExtensions(vcek, report, "Milan"), []);
    assert.deepEqual(leafProduct(vcek), { name: "Milan-B0", product: "Milan" });
  });
});
