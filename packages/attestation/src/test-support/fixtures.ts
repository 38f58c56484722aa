import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { EvidenceBundle } from "../evidence-bundle.js";
import { pemCertificates } from "../internal/certificate.js";

/** Test-only: the real evidence in packages/attestation/fixtures (see its README). */
export const FIXTURES = fileURLToPath(new URL("../../fixtures/", import.meta.url));

export function fixture(path: string): Uint8Array {
  return new Uint8Array(readFileSync(FIXTURES + path));
}

export function fixturePem(path: string): Uint8Array[] {
  return pemCertificates(readFileSync(FIXTURES + path, "utf8"), path);
}

/** Inside every Milan VCEK/ASK/ARK window. */
export const MILAN_NOW = new Date("2024-01-01T00:00:00Z");
/** Inside the AWS VLEK's one-year window. */
export const VLEK_NOW = new Date("2025-06-01T00:00:00Z");
/** Inside every TDX collateral window (2025-06-19T10:32:27Z .. 2025-07-19T10:00:35Z). */
export const TDX_NOW = new Date("2025-07-01T00:00:00Z");

export function milanBundle(report = fixture("sev-snp/milan-report.bin"), chain = "sev-snp/ask_ark_milan.pem"): EvidenceBundle {
  return {
    platform: "sev-snp",
    report,
    certificates: [fixture("sev-snp/milan-vcek.der"), ...fixturePem(chain)],
    serverVersion: "test",
    configDigest: "00",
  };
}

export function vlekBundle(report = fixture("sev-snp/aws-vlek-report.bin"), chain = "sev-snp/ask_ark_milan_vlek.pem"): EvidenceBundle {
  return {
    platform: "sev-snp",
    report,
    certificates: [fixture("sev-snp/aws-vlek.der"), ...fixturePem(chain)],
    serverVersion: "test",
    configDigest: "00",
  };
}

export function tdxBundle(quote = fixture("tdx/tdx-quote-v4.bin"), collateral = readFileSync(FIXTURES + "tdx/tdx-quote-v4-collateral.json", "utf8")): EvidenceBundle {
  return { platform: "tdx", report: quote, certificates: [], collateral, serverVersion: "test", configDigest: "00" };
}

/** A copy of `bytes` with `mutate` applied. */
export function mutated(bytes: Uint8Array, mutate: (copy: Uint8Array) => void): Uint8Array {
  const copy = Uint8Array.from(bytes);
  mutate(copy);
  return copy;
}
