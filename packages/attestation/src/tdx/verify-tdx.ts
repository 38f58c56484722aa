import { createHash, createPublicKey, timingSafeEqual, verify, type KeyObject } from "node:crypto";
import { AttestationError } from "../attestation-error.js";
import type { EvidenceBundle } from "../evidence-bundle.js";
import { digest, type VerificationCacheImpl } from "../verification-cache.js";
import type { VerificationPolicy } from "../verification-policy.js";
import type { VerificationProblem, VerificationResult } from "../verification-result.js";
import { readPckExtensions, type PckExtensions } from "./pck-extensions.js";
import { checkRevoked, verifyCollateralChains, verifyCollateralSignature, verifyIntelChain, windowProblem } from "./tdx-chain.js";
import { parseQeIdentity, parseTcbInfo, parseTdxCollateral, type QeIdentity, type TdxCollateral, type TdxTcbInfo } from "./tdx-collateral.js";
import { parseQeReport, parseTdxQuote, type TdxQuote } from "./tdx-quote.js";
import { qeIdentityStatus, rateTdxTcb } from "./tdx-tcb.js";

/** Intel's QE vendor ID (939A7233-F79C-4CA9-940A-0DB3957F0607). */
const INTEL_QE_VENDOR_ID = "939a7233f79c4ca9940a0db3957f0607";

/**
 * Verifies a TDX quote offline (Intel TDX DCAP Quote Verification, the steps of Intel's QVL):
 * quote signature by the attestation key, PCK chain to the pinned Intel root with both CRLs,
 * QE report signature by the PCK key, QE report data binding of the attestation key, TCB info
 * and QE identity signatures over their exact JSON, FMSPC match, TCB level status against the
 * policy, then MRTD, RTMRs, debug and report data. Every check that does not depend on a failed
 * one still runs, so all causes are listed.
 */
export function verifyTdx(bundle: EvidenceBundle, policy: VerificationPolicy, expected: Uint8Array | undefined, now: Date, cache: VerificationCacheImpl): VerificationResult {
  let quote: TdxQuote;
  try {
    quote = parseTdxQuote(bundle.report);
  } catch (err) {
    const message = err instanceof AttestationError ? err.message : "TDX quote is malformed";
    return { verified: false, platform: "tdx", reportData: "", tcb: {}, status: "failed", problems: [{ code: "malformed-evidence", message }] };
  }
  const problems: VerificationProblem[] = [];
  if (quote.attestationKeyType !== 2) problems.push({ code: "quote-format", message: `attestation key type ${quote.attestationKeyType} is not ECDSA P-256 (2)` });
  if (hex(quote.qeVendorId) !== INTEL_QE_VENDOR_ID) problems.push({ code: "quote-format", message: "the quote's QE vendor ID is not Intel's" });

  // 1. Quote signature by the attestation key (ECDSA P-256, SHA-256, over header and body).
  const attestationKey = rawP256Key(quote.attestationKey);
  if (attestationKey === undefined || !verifyP256(attestationKey, quote.signedBytes, quote.signature)) {
    problems.push({ code: "signature", message: "the quote's signature does not verify with its attestation key: the quote was altered" });
  }
  // 2. PCK chain to the pinned root; 3. QE report signed by the PCK key; 4. QE report data binding.
  const pckChain = verifyIntelChain(quote.pckChainPem, "PCK certificate chain", now, cache, problems);
  const pck = pckChain?.[0];
  if (pck !== undefined) {
    const ok = cache.verified(`qe:${digest(quote.qeReport, quote.qeReportSignature)}<${pck.sha256}`, () => verifyP256(pck.publicKey, quote.qeReport, quote.qeReportSignature));
    if (!ok) problems.push({ code: "qe-report-signature", message: "the QE report's signature does not verify with the PCK certificate's key" });
  }
  const qeReport = parseQeReport(quote.qeReport);
  const binding = createHash("sha256").update(quote.attestationKey).update(quote.qeAuthData).digest();
  if (!binding.equals(qeReport.reportData.subarray(0, 32)) || !qeReport.reportData.subarray(32).every((b) => b === 0)) {
    problems.push({ code: "qe-report-data", message: "the QE report data is not SHA-256(attestation key || QE authentication data): the attestation key is not the QE's" });
  }
  let pckExtensions: PckExtensions | undefined;
  if (pck !== undefined) {
    try {
      pckExtensions = readPckExtensions(pck);
    } catch (err) {
      problems.push({ code: "certificate-malformed", message: err instanceof AttestationError ? err.message : "the PCK certificate's SGX extension is malformed" });
    }
  }

  // 5. Collateral: CRLs, signing chains, signatures over the exact JSON, windows.
  let collateral: TdxCollateral | undefined;
  let tcbInfo: TdxTcbInfo | undefined;
  let qeIdentity: QeIdentity | undefined;
  if (bundle.collateral === undefined) {
    problems.push({ code: "collateral-missing", message: "no TDX collateral was supplied: pass it with --collateral (Intel PCS or a PCCS serves it)" });
  } else {
    try {
      collateral = parseTdxCollateral(bundle.collateral);
    } catch (err) {
      problems.push({ code: "collateral-malformed", message: err instanceof AttestationError ? err.message : "TDX collateral is malformed" });
    }
  }
  if (collateral !== undefined) {
    const chains = verifyCollateralChains(collateral, pckChain?.[1], now, cache, problems);
    if (pckChain !== undefined) {
      checkRevoked(pckChain[0]!, chains.pckCrl, "PCK CRL", problems);
      for (const intermediate of pckChain.slice(1, -1)) checkRevoked(intermediate, chains.rootCrl, "Intel root CA CRL", problems);
    }
    if (chains.tcbSigner !== undefined) verifyCollateralSignature(collateral.tcbInfoText, collateral.tcbInfoSignature, chains.tcbSigner, "TCB info", cache, problems);
    if (chains.qeSigner !== undefined) verifyCollateralSignature(collateral.qeIdentityText, collateral.qeIdentitySignature, chains.qeSigner, "QE identity", cache, problems);
    try {
      tcbInfo = parseTcbInfo(collateral.tcbInfoText);
      if (tcbInfo.id !== "TDX" || tcbInfo.version !== 3) throw new AttestationError("malformed-evidence", `TCB info is '${tcbInfo.id}' version ${tcbInfo.version}, not TDX version 3`);
      windowProblem(tcbInfo.issueDate, tcbInfo.nextUpdate, now, "the TCB info", problems);
    } catch (err) {
      tcbInfo = undefined;
      problems.push({ code: "collateral-malformed", message: err instanceof AttestationError ? err.message : "TCB info is malformed" });
    }
    try {
      qeIdentity = parseQeIdentity(collateral.qeIdentityText);
      if (qeIdentity.id !== "TD_QE") throw new AttestationError("malformed-evidence", `QE identity is for '${qeIdentity.id}', not the TD quoting enclave (TD_QE)`);
      windowProblem(qeIdentity.issueDate, qeIdentity.nextUpdate, now, "the QE identity", problems);
    } catch (err) {
      qeIdentity = undefined;
      problems.push({ code: "collateral-malformed", message: err instanceof AttestationError ? err.message : "QE identity is malformed" });
    }
  }

  // 6. QE identity: the quoting enclave is Intel's, and its SVN level.
  let qeStatus: string | undefined;
  if (qeIdentity !== undefined) {
    const attributesMask = Buffer.from(qeIdentity.attributesMask, "hex");
    const masked = (value: Uint8Array): string => hex(value.map((b, i) => b & attributesMask[i]!));
    const mismatch =
      hex(qeReport.mrSigner) !== qeIdentity.mrSigner ||
      qeReport.isvProdId !== qeIdentity.isvProdId ||
      ((qeReport.miscSelect & qeIdentity.miscSelectMask) >>> 0) !== ((qeIdentity.miscSelect & qeIdentity.miscSelectMask) >>> 0) ||
      masked(qeReport.attributes) !== masked(Buffer.from(qeIdentity.attributes, "hex"));
    if (mismatch) problems.push({ code: "qe-identity", message: "the quoting enclave's MRSIGNER, ISVPRODID, MISCSELECT or ATTRIBUTES differ from Intel's QE identity" });
    qeStatus = qeIdentityStatus(qeIdentity, qeReport.isvSvn);
    if (qeStatus === undefined) problems.push({ code: "qe-identity", message: `the quoting enclave's ISVSVN ${qeReport.isvSvn} is below every level of Intel's QE identity` });
  }

  // 7. FMSPC and PCE-ID, then the TCB level and its status.
  let status = "failed";
  const tcbFacts: Record<string, unknown> = { quoteVersion: quote.version, teeTcbSvn: hex(quote.body.teeTcbSvn), tdAttributes: hex(quote.body.tdAttributes), qeSvn: qeReport.isvSvn };
  if (tcbInfo !== undefined && pckExtensions !== undefined) {
    Object.assign(tcbFacts, { fmspc: pckExtensions.fmspc, pceSvn: pckExtensions.pceSvn, cpuSvn: pckExtensions.cpuSvnComponents });
    if (pckExtensions.fmspc !== tcbInfo.fmspc) {
      problems.push({ code: "fmspc-mismatch", message: `the TCB info is for FMSPC ${tcbInfo.fmspc} but the PCK certificate's platform is ${pckExtensions.fmspc}: wrong collateral` });
    }
    if (pckExtensions.pceId !== tcbInfo.pceId) {
      problems.push({ code: "fmspc-mismatch", message: `the TCB info is for PCE-ID ${tcbInfo.pceId} but the PCK certificate says ${pckExtensions.pceId}: wrong collateral` });
    }
    const rating = rateTdxTcb(tcbInfo, pckExtensions, quote, qeStatus);
    problems.push(...rating.problems);
    Object.assign(tcbFacts, rating.facts);
    if (rating.status !== undefined) {
      status = rating.status;
      if (!policy.tdx.acceptedStatuses.includes(status)) {
        const advisories = rating.advisoryIds.length > 0 ? ` (advisories: ${rating.advisoryIds.join(", ")})` : "";
        problems.push({ code: "tcb-status", message: `the TCB status is ${status}, which the policy does not accept (it accepts ${policy.tdx.acceptedStatuses.join(", ") || "none"})${advisories}` });
      }
    }
  }

  // 8. Policy on the TD itself.
  problems.push(...checkTdPolicy(quote, policy, expected));
  return {
    verified: problems.length === 0,
    platform: "tdx",
    mrtd: hex(quote.body.mrtd),
    rtmrs: quote.body.rtmrs.map(hex),
    reportData: hex(quote.body.reportData),
    tcb: tcbFacts,
    status,
    problems,
    serverVersion: bundle.serverVersion,
    configDigest: bundle.configDigest,
  };
}

function checkTdPolicy(quote: TdxQuote, policy: VerificationPolicy, expected: Uint8Array | undefined): VerificationProblem[] {
  const problems: VerificationProblem[] = [];
  // TDATTRIBUTES bits 7:0 are TUD (TD Under Debug); bit 0 DEBUG lets the host read the TD's state.
  if (quote.body.tdAttributes[0] !== 0) {
    problems.push({ code: "debug", message: "the TD is debuggable (TDATTRIBUTES.DEBUG): the host can read its memory and registers" });
  }
  const mrtd = hex(quote.body.mrtd);
  if (policy.tdx.mrtd.length > 0 && !policy.tdx.mrtd.includes(mrtd)) {
    problems.push({ code: "mrtd", message: `MRTD ${mrtd} is not one the policy accepts` });
  }
  const rtmrs = quote.body.rtmrs.map(hex);
  if (policy.tdx.rtmrs.length > 0 && !policy.tdx.rtmrs.some((set) => set.every((v, i) => v === null || v === rtmrs[i]))) {
    const differing = [0, 1, 2, 3].filter((i) => !policy.tdx.rtmrs.some((set) => set[i] === null || set[i] === rtmrs[i]));
    problems.push({ code: "rtmr", message: `the RTMRs match no set the policy accepts${differing.length > 0 ? ` (RTMR${differing.join(", RTMR")} match none)` : ""}` });
  }
  if (expected !== undefined && (expected.byteLength !== 64 || !timingSafeEqual(quote.body.reportData, expected))) {
    problems.push({ code: "report-data", message: "the quote's report data does not bind this connection's server key and nonce (or the expected value): possible replay or man in the middle" });
  }
  return problems;
}

function rawP256Key(xy: Uint8Array): KeyObject | undefined {
  try {
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64url");
    return createPublicKey({ key: { kty: "EC", crv: "P-256", x: b64(xy.subarray(0, 32)), y: b64(xy.subarray(32, 64)) }, format: "jwk" });
  } catch {
    return undefined;
  }
}

function verifyP256(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature);
  } catch {
    return false;
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
