import { verify } from "node:crypto";
import { AttestationError } from "../attestation-error.js";
import { isIssuedBy, pemCertificates, validityProblem, type ParsedCertificate } from "../internal/certificate.js";
import { isCrlIssuedBy, parseCrl, type ParsedCrl } from "../internal/crl.js";
import { digest, type VerificationCacheImpl } from "../verification-cache.js";
import type { VerificationProblem } from "../verification-result.js";
import { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from "./intel-root.js";
import type { TdxCollateral } from "./tdx-collateral.js";

/** The pinned Intel SGX Root CA, parsed (through the cache) and checked against its fingerprint. */
export function intelRoot(cache: VerificationCacheImpl): ParsedCertificate {
  const root = cache.certificate(pemCertificates(INTEL_SGX_ROOT_CA_PEM, "pinned Intel root")[0]!, "Intel SGX Root CA");
  if (root.sha256 !== INTEL_SGX_ROOT_CA_SHA256) throw new AttestationError("malformed-certificate", "the pinned Intel SGX Root CA does not match its fingerprint: this package is corrupt");
  return root;
}

/**
 * Verifies a PEM chain `leaf, intermediates..., root` against the pinned Intel root at `now`.
 * Returns the parsed certificates (leaf first, pinned root last) or undefined when the chain
 * could not be read at all; problems name the certificate by `label` and subject CN.
 */
export function verifyIntelChain(
  pem: string,
  label: string,
  now: Date,
  cache: VerificationCacheImpl,
  problems: VerificationProblem[],
): ParsedCertificate[] | undefined {
  let certs: ParsedCertificate[];
  try {
    certs = pemCertificates(pem, label).map((der, i) => cache.certificate(der, `${label} certificate ${i + 1}`));
  } catch (err) {
    problems.push({ code: "certificate-malformed", message: err instanceof AttestationError ? err.message : `${label} is malformed` });
    return undefined;
  }
  const root = intelRoot(cache);
  const last = certs[certs.length - 1];
  if (certs.length < 2 || last === undefined) {
    problems.push({ code: "certificate-missing", message: `${label} must hold the signing certificate and the Intel SGX Root CA` });
    return undefined;
  }
  if (last.sha256 !== root.sha256) {
    problems.push({ code: "untrusted-root", message: `${label} ends in '${last.subjectCommonName}', not the pinned Intel SGX Root CA` });
  }
  const chain = [...certs.slice(0, -1), root];
  for (let i = 0; i < chain.length - 1; i++) {
    const child = chain[i]!;
    const issuer = chain[i + 1]!;
    if (!cache.verified(`intel:${child.sha256}<${issuer.sha256}`, () => isIssuedBy(child, issuer))) {
      const notCa = issuer.x509.ca ? "" : ", which is not a CA";
      problems.push({ code: "certificate-chain", message: `in the ${label}, '${child.subjectCommonName}' is not signed by '${issuer.subjectCommonName}'${notCa}` });
    }
  }
  for (const cert of chain) {
    const problem = validityProblem(cert, now, `'${cert.subjectCommonName}' (${label})`);
    if (problem !== undefined) problems.push(problem);
  }
  return chain;
}

/** Parses a CRL, checks its issuer's signature and its window; undefined when unusable. */
export function verifyCrl(
  der: Uint8Array,
  label: string,
  issuer: ParsedCertificate,
  now: Date,
  cache: VerificationCacheImpl,
  problems: VerificationProblem[],
): ParsedCrl | undefined {
  let crl: ParsedCrl;
  try {
    crl = parseCrl(der, label);
  } catch (err) {
    problems.push({ code: "collateral-malformed", message: err instanceof AttestationError ? err.message : `${label} is malformed` });
    return undefined;
  }
  if (!cache.verified(`crl:${digest(der)}<${issuer.sha256}`, () => isCrlIssuedBy(crl, issuer))) {
    problems.push({ code: "crl-signature", message: `the ${label} is not signed by '${issuer.subjectCommonName}'` });
  }
  windowProblem(crl.thisUpdate, crl.nextUpdate, now, `the ${label}`, problems);
  return crl;
}

/** Records a revocation problem when `cert`'s serial is on `crl`. */
export function checkRevoked(cert: ParsedCertificate, crl: ParsedCrl | undefined, label: string, problems: VerificationProblem[]): void {
  if (crl?.revoked.has(cert.serialHex)) {
    problems.push({ code: "certificate-revoked", message: `'${cert.subjectCommonName}' is revoked by the ${label}` });
  }
}

/**
 * Verifies a signed collateral item (TCB info or QE identity): ECDSA P-256 over the exact JSON
 * text bytes, by the leaf of its issuer chain ("Intel SGX TCB Signing").
 */
export function verifyCollateralSignature(text: string, signature: Uint8Array, signer: ParsedCertificate, label: string, cache: VerificationCacheImpl, problems: VerificationProblem[]): void {
  const ok = cache.verified(`collateral:${digest(text, signature)}<${signer.sha256}`, () => {
    try {
      return signature.byteLength === 64 && verify("sha256", Buffer.from(text, "utf8"), { key: signer.publicKey, dsaEncoding: "ieee-p1363" }, signature);
    } catch {
      return false;
    }
  });
  if (!ok) problems.push({ code: "collateral-signature", message: `the ${label} signature does not verify with '${signer.subjectCommonName}': the collateral was altered` });
}

/** Records a problem when `now` is outside [from, until]. */
export function windowProblem(from: Date, until: Date | undefined, now: Date, label: string, problems: VerificationProblem[]): void {
  if (until !== undefined && now.getTime() > until.getTime()) {
    problems.push({ code: "collateral-expired", message: `${label} expired at ${until.toISOString()} (checked at ${now.toISOString()}): fetch fresh collateral` });
  } else if (now.getTime() < from.getTime()) {
    problems.push({ code: "collateral-not-yet-valid", message: `${label} is not valid before ${from.toISOString()} (checked at ${now.toISOString()})` });
  }
}

/** The collateral's issuer chains and CRLs verified: returns the TCB signing certificates. */
export function verifyCollateralChains(
  collateral: TdxCollateral,
  pckIntermediate: ParsedCertificate | undefined,
  now: Date,
  cache: VerificationCacheImpl,
  problems: VerificationProblem[],
): { pckCrl?: ParsedCrl; rootCrl?: ParsedCrl; tcbSigner?: ParsedCertificate; qeSigner?: ParsedCertificate } {
  const root = intelRoot(cache);
  const rootCrl = verifyCrl(collateral.rootCaCrl, "Intel root CA CRL", root, now, cache, problems);
  const pckCrl = pckIntermediate === undefined ? undefined : verifyCrl(collateral.pckCrl, "PCK CRL", pckIntermediate, now, cache, problems);
  const tcbChain = verifyIntelChain(collateral.tcbInfoIssuerChain, "TCB info issuer chain", now, cache, problems);
  const qeChain = verifyIntelChain(collateral.qeIdentityIssuerChain, "QE identity issuer chain", now, cache, problems);
  const tcbSigner = tcbChain?.[0];
  const qeSigner = qeChain?.[0];
  if (tcbSigner !== undefined) checkRevoked(tcbSigner, rootCrl, "Intel root CA CRL", problems);
  if (qeSigner !== undefined && qeSigner.sha256 !== tcbSigner?.sha256) checkRevoked(qeSigner, rootCrl, "Intel root CA CRL", problems);
  return {
    ...(pckCrl === undefined ? {} : { pckCrl }),
    ...(rootCrl === undefined ? {} : { rootCrl }),
    ...(tcbSigner === undefined ? {} : { tcbSigner }),
    ...(qeSigner === undefined ? {} : { qeSigner }),
  };
}
