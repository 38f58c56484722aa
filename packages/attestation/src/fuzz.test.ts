import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AttestationError } from "./attestation-error.js";
import { parseSnpCertTable } from "./configfs/snp-cert-table.js";
import { decodeEvidenceBundle, encodeEvidenceBundle } from "./evidence-bundle.js";
import { parseCertificate, pemCertificates } from "./internal/certificate.js";
import { parseCrl } from "./internal/crl.js";
import { parseSnpReport } from "./sev-snp/snp-report.js";
import { readPckExtensions } from "./tdx/pck-extensions.js";
import { parseQeIdentity, parseTcbInfo, parseTdxCollateral } from "./tdx/tdx-collateral.js";
import { parseTdxQuote } from "./tdx/tdx-quote.js";
import { fixture, milanBundle, MILAN_NOW, tdxBundle, TDX_NOW, vlekBundle } from "./test-support/fixtures.js";
import { createVerificationCache } from "./verification-cache.js";
import { parseVerificationPolicy } from "./verification-policy.js";
import { verifyEvidence } from "./verify-evidence.js";

/** mulberry32: a small seeded PRNG, so every run fuzzes the same inputs and failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random bytes, truncations and byte mutations of `seed`, `count` inputs in all. */
function* inputs(seedBytes: Uint8Array, count: number, seed: number): Generator<Uint8Array> {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  for (let i = 0; i < count; i++) {
    switch (i % 4) {
      case 0: {
        const out = new Uint8Array(int(seedBytes.byteLength * 2 + 8));
        for (let j = 0; j < out.length; j++) out[j] = int(256);
        yield out;
        break;
      }
      case 1:
        yield seedBytes.slice(0, int(seedBytes.byteLength));
        break;
      case 2: {
        const out = Uint8Array.from(seedBytes);
        const flips = 1 + int(8);
        for (let j = 0; j < flips; j++) out[int(out.length)] = int(256);
        yield out;
        break;
      }
      default: {
        // Length fields are where parsers go wrong: write big values at random offsets.
        const out = Uint8Array.from(seedBytes);
        const at = int(Math.max(1, out.length - 4));
        new DataView(out.buffer).setUint32(at, [0xffffffff, 0x7fffffff, out.length, out.length + 1, 0][int(5)]!, true);
        yield out;
      }
    }
  }
}

/** Runs `parse` on every input: it may return or throw an AttestationError, nothing else. */
function fuzz(name: string, seedBytes: Uint8Array, parse: (bytes: Uint8Array) => unknown, count = 1500): void {
  let threw = 0;
  for (const input of inputs(seedBytes, count, name.length * 7919)) {
    try {
      parse(input);
    } catch (err) {
      threw++;
      assert.ok(err instanceof AttestationError, `${name}: ${String(err)} is not an AttestationError`);
      assert.ok(typeof err.code === "string" && err.message.length > 0);
    }
  }
  assert.ok(threw > 0, `${name}: the fuzzer produced no invalid input`);
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1");
const collateral = JSON.parse(tdxBundle().collateral!) as Record<string, string>;

describe("parsers under random and truncated input throw typed errors only", () => {
  it("parseSnpReport", () => fuzz("snp", fixture("sev-snp/aws-vlek-report.bin"), parseSnpReport));
  it("parseTdxQuote", () => fuzz("tdx", fixture("tdx/tdx-quote-v4.bin"), parseTdxQuote));
  it("parseCertificate (DER)", () => fuzz("cert", fixture("sev-snp/milan-vcek.der"), (b) => parseCertificate(b)));
  it("PCK certificate SGX extensions", () => {
    const pck = pemCertificates(parseTdxQuote(fixture("tdx/tdx-quote-v4.bin")).pckChainPem, "PCK chain")[0]!;
    fuzz("pck", pck, (b) => readPckExtensions(parseCertificate(b)), 1500);
  });
  it("parseCrl", () => fuzz("crl", new Uint8Array(Buffer.from(collateral["pck_crl"]!, "hex")), (b) => parseCrl(b, "CRL"), 600));
  it("parseSnpCertTable", () => {
    const table = new Uint8Array(24 * 2 + 100);
    table.set(Buffer.from("63da758de6644564adc5f4b93be8accd", "hex"));
    new DataView(table.buffer).setUint32(16, 48, true);
    new DataView(table.buffer).setUint32(20, 100, true);
    fuzz("table", table, parseSnpCertTable);
  });
  it("TDX collateral, TCB info and QE identity JSON", () => {
    fuzz("collateral", new Uint8Array(Buffer.from(tdxBundle().collateral!)), (b) => parseTdxCollateral(text(b)), 400);
    fuzz("tcbinfo", new Uint8Array(Buffer.from(collateral["tcb_info"]!)), (b) => parseTcbInfo(text(b)), 800);
    fuzz("qeidentity", new Uint8Array(Buffer.from(collateral["qe_identity"]!)), (b) => parseQeIdentity(text(b)), 800);
  });
  it("evidence bundles and policies", () => {
    fuzz("bundle", new Uint8Array(Buffer.from(encodeEvidenceBundle(vlekBundle()))), (b) => decodeEvidenceBundle(text(b)), 400);
    const policy = JSON.stringify({ platforms: ["tdx"], sevSnp: { minimumTcb: { snp: 3 }, maxVmpl: 1 }, tdx: { rtmrs: [[null, null, null, null]] } });
    fuzz("policy", new Uint8Array(Buffer.from(policy)), (b) => parseVerificationPolicy(text(b)), 800);
  });
});

describe("verifyEvidence under mutated evidence never throws and fails closed", () => {
  it("SEV-SNP reports and certificates", async () => {
    const cache = createVerificationCache();
    let count = 0;
    for (const report of inputs(fixture("sev-snp/milan-report.bin"), 300, 11)) {
      const result = await verifyEvidence({ ...milanBundle(), report }, { now: MILAN_NOW, cache });
      // The Milan vector is refused for debug anyway; every mutation must keep it refused.
      assert.equal(result.verified, false);
      count++;
    }
    for (const cert of inputs(fixture("sev-snp/aws-vlek.der"), 200, 12)) {
      const bundle = vlekBundle();
      const result = await verifyEvidence({ ...bundle, certificates: [cert, ...bundle.certificates.slice(1)] }, { now: MILAN_NOW });
      assert.equal(result.verified, false);
      count++;
    }
    assert.equal(count, 500);
  });

  it("TDX quotes and collateral", async () => {
    const cache = createVerificationCache();
    for (const quote of inputs(fixture("tdx/tdx-quote-v4.bin"), 200, 13)) {
      const result = await verifyEvidence(tdxBundle(quote), { now: TDX_NOW, cache });
      assert.equal(typeof result.verified, "boolean");
      if (quote.byteLength < 0x278) assert.equal(result.verified, false);
    }
    for (const json of inputs(new Uint8Array(Buffer.from(tdxBundle().collateral!)), 100, 14)) {
      const result = await verifyEvidence(tdxBundle(undefined, text(json)), { now: TDX_NOW, cache });
      assert.equal(typeof result.verified, "boolean");
    }
  });
});
