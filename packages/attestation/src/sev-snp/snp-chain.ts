import { AttestationError } from "../attestation-error.js";
import { isIssuedBy, pemCertificates, validityProblem, type ParsedCertificate } from "../internal/certificate.js";
import type { VerificationCacheImpl } from "../verification-cache.js";
import type { VerificationProblem } from "../verification-result.js";
import { AMD_ROOTS } from "./amd-roots.js";
import type { SnpSigningKey } from "./snp-report.js";
import { productFromCommonName, type SnpProduct } from "./snp-tcb.js";

/** What chain verification established; `leaf` is set whenever a VCEK/VLEK was found. */
export interface SnpChain {
  readonly leaf?: ParsedCertificate;
  /** The product line of the ARK the chain ends in. */
  readonly product?: SnpProduct;
  readonly problems: VerificationProblem[];
}

const RSASSA_PSS = "1.2.840.113549.1.1.10";
// DER of the SHA-384 AlgorithmIdentifier's OID (2.16.840.1.101.3.4.2.2), which the PSS
// parameters of AMD's certificates name as hash and MGF1 hash.
const SHA384_OID_DER = Buffer.from("0609608648016503040202", "hex");

/**
 * Verifies VCEK -> ASK -> ARK (or VLEK -> ASVK -> ARK) at `now`. The leaf is the supplied
 * certificate whose CN is SEV-VCEK or SEV-VLEK (as the report's signer says); the intermediate
 * is the supplied one if any (so a wrong product's chain is reported, not silently replaced),
 * else AMD's, shipped in this package; the root is always the pinned ARK of the intermediate's
 * issuer, and a supplied ARK must be that exact certificate.
 */
export function verifySnpChain(
  certificates: readonly Uint8Array[],
  signingKey: SnpSigningKey,
  now: Date,
  cache: VerificationCacheImpl,
): SnpChain {
  const problems: VerificationProblem[] = [];
  const parsed: ParsedCertificate[] = [];
  certificates.forEach((der, i) => {
    try {
      parsed.push(cache.certificate(der, `certificate ${i + 1}`));
    } catch (err) {
      problems.push({ code: "certificate-malformed", message: err instanceof AttestationError ? err.message : `certificate ${i + 1} is malformed` });
    }
  });
  const leafName = signingKey === "vlek" ? "SEV-VLEK" : "SEV-VCEK";
  const keyName = signingKey === "vlek" ? "VLEK" : "VCEK";
  if (signingKey === "none") return { problems };
  const leaf = parsed.find((c) => c.subjectCommonName === leafName);
  if (leaf === undefined) {
    const other = parsed.find((c) => c.subjectCommonName === (signingKey === "vlek" ? "SEV-VCEK" : "SEV-VLEK"));
    problems.push(
      other === undefined
        ? { code: "certificate-missing", message: `no ${keyName} certificate was supplied: get it from AMD KDS or the server's evidence (--certs)` }
        : { code: "signing-key-mismatch", message: `the report is signed by a ${keyName} but the supplied certificate is a ${other.subjectCommonName.slice(4)}` },
    );
    return { problems };
  }
  const isRoot = (c: ParsedCertificate): boolean => Buffer.from(c.subject).equals(c.issuer);
  const suppliedIntermediate = parsed.find((c) => c !== leaf && !isRoot(c) && c.subjectCommonName !== "SEV-VCEK" && c.subjectCommonName !== "SEV-VLEK");
  let intermediate = suppliedIntermediate;
  if (intermediate === undefined) {
    const product = productFromCommonName(leaf.issuerCommonName);
    if (product === undefined) {
      problems.push({ code: "untrusted-root", message: `the ${keyName} is issued by '${leaf.issuerCommonName}', not an AMD Milan, Genoa or Turin key` });
      return { leaf, problems };
    }
    const pem = signingKey === "vlek" ? AMD_ROOTS[product].asvk : AMD_ROOTS[product].ask;
    intermediate = cache.certificate(pemCertificates(pem, "pinned ASK")[0]!, `AMD ${product} ASK`);
  }
  const interName = signingKey === "vlek" ? "ASVK" : "ASK";
  const product = productFromCommonName(intermediate.issuerCommonName);
  if (product === undefined) {
    problems.push({ code: "untrusted-root", message: `the ${interName} '${intermediate.subjectCommonName}' is issued by '${intermediate.issuerCommonName}', not an AMD ARK` });
    return { leaf, problems };
  }
  const ark = cache.certificate(pemCertificates(AMD_ROOTS[product].ark, "pinned ARK")[0]!, `AMD ARK-${product}`);
  if (ark.sha256 !== AMD_ROOTS[product].arkSha256) {
    // The shipped constant itself was altered: nothing can be trusted.
    problems.push({ code: "untrusted-root", message: `the pinned ARK-${product} does not match its SHA-256 fingerprint: this package is corrupt` });
    return { leaf, product, problems };
  }
  for (const root of parsed.filter(isRoot)) {
    if (root.sha256 !== ark.sha256) {
      const pinned = Object.entries(AMD_ROOTS).find(([, r]) => r.arkSha256 === root.sha256)?.[0];
      problems.push({
        code: "untrusted-root",
        message:
          pinned === undefined
            ? `the supplied root '${root.subjectCommonName}' is not one of AMD's pinned ARKs`
            : `the supplied ARK is ARK-${pinned} but the chain needs ARK-${product}: wrong product's certificate chain`,
      });
    }
  }
  for (const cert of [leaf, intermediate]) {
    if (cert.signatureAlgorithm !== RSASSA_PSS || !Buffer.from(cert.signatureParameters).includes(SHA384_OID_DER)) {
      problems.push({ code: "certificate-chain", message: `the ${cert === leaf ? keyName : interName} is not signed with RSASSA-PSS and SHA-384 as AMD's keys sign` });
    }
  }
  if (!cache.verified(`snp:${leaf.sha256}<${intermediate.sha256}`, () => isIssuedBy(leaf, intermediate))) {
    problems.push({
      code: "certificate-chain",
      message: `the ${keyName} (issued by '${leaf.issuerCommonName}') is not signed by the supplied ${interName} '${intermediate.subjectCommonName}'${intermediate.x509.ca ? "" : ", which is not a CA"}`,
    });
  }
  if (!cache.verified(`snp:${intermediate.sha256}<${ark.sha256}`, () => isIssuedBy(intermediate, ark))) {
    problems.push({ code: "certificate-chain", message: `the ${interName} '${intermediate.subjectCommonName}' is not signed by AMD's pinned ARK-${product}` });
  }
  for (const [cert, what] of [[leaf, keyName], [intermediate, `${interName} '${intermediate.subjectCommonName}'`], [ark, `ARK-${product}`]] as const) {
    const problem = validityProblem(cert, now, what);
    if (problem !== undefined) problems.push(problem);
  }
  return { leaf, product, problems };
}
