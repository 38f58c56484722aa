import { AttestationError } from "../attestation-error.js";
import type { ParsedCertificate } from "../internal/certificate.js";
import { decodeSmallInteger, readDerExact, TAG } from "../internal/der.js";
import type { VerificationProblem } from "../verification-result.js";
import type { SnpReport } from "./snp-report.js";
import { productFromCommonName, TCB_LAYOUT, type SnpProduct } from "./snp-tcb.js";

const PRODUCT_NAME = "1.3.6.1.4.1.3704.1.2";
const HW_ID = "1.3.6.1.4.1.3704.1.4";

/** The product line named by a VCEK/VLEK's productName extension ("Milan-B0" -> Milan). */
export function leafProduct(leaf: ParsedCertificate): { name: string; product?: SnpProduct } | undefined {
  const raw = leaf.extensions.get(PRODUCT_NAME);
  if (raw === undefined) return undefined;
  try {
    const node = readDerExact(raw, "malformed-certificate", "productName extension");
    if (node.tag !== TAG.ia5String) return undefined;
    const name = Buffer.from(node.content).toString("latin1");
    const product = productFromCommonName(name.split("-")[0] ?? "");
    return product === undefined ? { name } : { name, product };
  } catch {
    return undefined;
  }
}

/**
 * Checks the AMD extensions of a VCEK/VLEK against the report (AMD "VCEK Certificate and KDS
 * Interface Specification", section 3): each SPL equals the matching reported_tcb byte (the
 * key is derived from that TCB, so any difference means the certificate is for another TCB),
 * and for a VCEK the hwID equals the report's chip_id unless the guest masked chip_id to zeros.
 * Turin's hwID is 8 bytes, matched against chip_id's first 8 bytes with the rest zero.
 */
export function checkSnpExtensions(leaf: ParsedCertificate, report: SnpReport, product: SnpProduct): VerificationProblem[] {
  const problems: VerificationProblem[] = [];
  const keyName = report.signingKey === "vlek" ? "VLEK" : "VCEK";
  for (const { name, byte, oid } of TCB_LAYOUT[product]) {
    const raw = leaf.extensions.get(oid);
    if (raw === undefined) {
      // Reserved SPLs are optional; the named ones are required to bind the key to a TCB.
      if (!name.startsWith("reserved")) problems.push({ code: "certificate-extension", message: `the ${keyName} has no ${name} SPL extension (${oid})` });
      continue;
    }
    let spl: number;
    try {
      spl = decodeSmallInteger(readDerExact(raw, "malformed-certificate", `${name} SPL`), "malformed-certificate", `${name} SPL`);
    } catch (err) {
      problems.push({ code: "certificate-extension", message: err instanceof AttestationError ? `the ${keyName} ${err.message}` : `the ${keyName} ${name} SPL is malformed` });
      continue;
    }
    const reported = report.reportedTcb[byte]!;
    if (spl !== reported) {
      problems.push({ code: "tcb-mismatch", message: `the ${keyName}'s ${name} SPL is ${spl} but the report's reported_tcb has ${reported}: the certificate is for another TCB` });
    }
  }
  if (report.signingKey === "vcek") {
    const chipIdMasked = report.chipId.every((b) => b === 0);
    const raw = leaf.extensions.get(HW_ID);
    if (raw === undefined) {
      problems.push({ code: "certificate-extension", message: `the VCEK has no hwID extension (${HW_ID})` });
    } else if (!chipIdMasked) {
      let hwId: Uint8Array = raw;
      try {
        // hwID is stored as the raw bytes; tolerate an OCTET STRING wrapper as some tools write.
        const node = readDerExact(raw, "malformed-certificate", "hwID");
        if (node.tag === TAG.octetString && node.content.byteLength === (product === "Turin" ? 8 : 64)) hwId = node.content;
      } catch {
        // Not DER: the raw form, as AMD issues it.
      }
      const length = product === "Turin" ? 8 : 64;
      const matches =
        hwId.byteLength === length &&
        Buffer.from(hwId).equals(report.chipId.subarray(0, length)) &&
        report.chipId.subarray(length).every((b) => b === 0);
      if (!matches) problems.push({ code: "chip-id-mismatch", message: "the VCEK's hwID differs from the report's chip_id: the certificate belongs to another chip" });
    }
  }
  return problems;
}
