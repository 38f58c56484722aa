import { createHash, X509Certificate, type KeyObject } from "node:crypto";
import { AttestationError } from "../attestation-error.js";
import {
  decodeBitString,
  decodeIntegerHex,
  decodeOid,
  decodeTime,
  derChildren,
  expectChildren,
  readDerExact,
  TAG,
  type DerNode,
} from "./der.js";

/**
 * An X.509 certificate with the fields verification needs. Parsing is our own strict DER walk
 * (RFC 5280 section 4.1); signatures are checked by node:crypto's X509Certificate (OpenSSL),
 * which handles RSASSA-PSS and ECDSA.
 */
export interface ParsedCertificate {
  readonly der: Uint8Array;
  /** SHA-256 of the DER (lower-case hex). */
  readonly sha256: string;
  readonly serialHex: string;
  /** Outer signatureAlgorithm OID, and its parameters' DER (empty when absent). */
  readonly signatureAlgorithm: string;
  readonly signatureParameters: Uint8Array;
  /** DER of the issuer and subject Names, compared byte for byte when chaining. */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly subjectCommonName: string;
  readonly issuerCommonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** extnValue contents by extension OID. */
  readonly extensions: ReadonlyMap<string, Uint8Array>;
  readonly publicKey: KeyObject;
  readonly x509: X509Certificate;
}

const CN = "2.5.4.3";

/** Parses one DER certificate; throws `malformed-certificate`. */
export function parseCertificate(input: Uint8Array, what = "certificate"): ParsedCertificate {
  // A private copy: the parsed certificate may be cached, and the caller may reuse its buffer.
  const der = Uint8Array.from(input);
  const code = "malformed-certificate";
  const top = expectChildren(readDerExact(der, code, what), TAG.sequence, code, what);
  if (top.length !== 3) throw new AttestationError(code, `${what} is not an X.509 certificate`);
  const tbs = expectChildren(top[0]!, TAG.sequence, code, what);
  let i = 0;
  if (tbs[0]?.tag === 0xa0) i++;
  if (tbs.length < i + 6) throw new AttestationError(code, `${what} is not an X.509 certificate`);
  const serialHex = decodeIntegerHex(tbs[i]!, code, what);
  const issuer = tbs[i + 2]!;
  const validity = expectChildren(tbs[i + 3]!, TAG.sequence, code, what);
  const subject = tbs[i + 4]!;
  if (validity.length !== 2 || issuer.tag !== TAG.sequence || subject.tag !== TAG.sequence) {
    throw new AttestationError(code, `${what} is not an X.509 certificate`);
  }
  const extensions = new Map<string, Uint8Array>();
  for (const field of tbs.slice(i + 6)) {
    if (field.tag !== 0xa3) continue;
    const [list] = derChildren(field, code, what);
    if (list === undefined) continue;
    for (const ext of expectChildren(list, TAG.sequence, code, what)) {
      const parts = expectChildren(ext, TAG.sequence, code, what);
      const value = parts[parts.length - 1];
      if (parts.length < 2 || value === undefined || value.tag !== TAG.octetString) throw new AttestationError(code, `${what} has a malformed extension`);
      const oid = decodeOid(parts[0]!, code, what);
      if (extensions.has(oid)) throw new AttestationError(code, `${what} repeats extension ${oid}`);
      extensions.set(oid, value.content);
    }
  }
  const algorithm = expectChildren(top[1]!, TAG.sequence, code, what);
  if (algorithm.length < 1) throw new AttestationError(code, `${what} has no signature algorithm`);
  decodeBitString(top[2]!, code, what);
  let x509: X509Certificate;
  let publicKey: KeyObject;
  try {
    x509 = new X509Certificate(der);
    publicKey = x509.publicKey;
  } catch (cause) {
    throw new AttestationError(code, `${what} could not be parsed by OpenSSL`, { cause });
  }
  return {
    der,
    sha256: createHash("sha256").update(der).digest("hex"),
    serialHex,
    signatureAlgorithm: decodeOid(algorithm[0]!, code, what),
    signatureParameters: algorithm[1]?.bytes ?? new Uint8Array(0),
    issuer: issuer.bytes,
    subject: subject.bytes,
    subjectCommonName: commonName(subject, what),
    issuerCommonName: commonName(issuer, what),
    notBefore: decodeTime(validity[0]!, code, what),
    notAfter: decodeTime(validity[1]!, code, what),
    extensions,
    publicKey,
    x509,
  };
}

/**
 * True when `child` names `issuer` as its issuer, `issuer` is a CA (basicConstraints cA, RFC
 * 5280 section 4.2.1.9: a leaf such as Intel's TCB signing certificate must not issue
 * certificates even though the root signed it) and `issuer`'s key verifies the signature.
 */
export function isIssuedBy(child: ParsedCertificate, issuer: ParsedCertificate): boolean {
  if (!Buffer.from(child.issuer).equals(issuer.subject) || !issuer.x509.ca) return false;
  try {
    return child.x509.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** The validity problem of a certificate at `now`, or undefined when inside its window. */
export function validityProblem(cert: ParsedCertificate, now: Date, what: string): { code: "certificate-expired" | "certificate-not-yet-valid"; message: string } | undefined {
  if (now.getTime() > cert.notAfter.getTime()) {
    return { code: "certificate-expired", message: `${what} expired at ${cert.notAfter.toISOString()} (checked at ${now.toISOString()})` };
  }
  if (now.getTime() < cert.notBefore.getTime()) {
    return { code: "certificate-not-yet-valid", message: `${what} is not valid before ${cert.notBefore.toISOString()} (checked at ${now.toISOString()})` };
  }
  return undefined;
}

/** The DER certificates of a PEM text, in order; throws `malformed-certificate` if there are none. */
export function pemCertificates(text: string, what: string): Uint8Array[] {
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new AttestationError("malformed-certificate", `${what} holds no PEM certificate`);
  return blocks.map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")));
}

/** Certificates from a file's bytes: DER (one certificate) or PEM (one or more). */
export function certificatesFromFile(bytes: Uint8Array, what: string): Uint8Array[] {
  const head = Buffer.from(bytes.subarray(0, Math.min(bytes.byteLength, 4096))).toString("latin1");
  if (head.includes("-----BEGIN")) return pemCertificates(Buffer.from(bytes).toString("latin1"), what);
  return [bytes];
}

function commonName(name: DerNode, what: string): string {
  const code = "malformed-certificate";
  for (const rdn of derChildren(name, code, what)) {
    for (const attribute of expectChildren(rdn, TAG.set, code, what)) {
      const [type, value] = expectChildren(attribute, TAG.sequence, code, what);
      if (type !== undefined && value !== undefined && decodeOid(type, code, what) === CN) {
        return Buffer.from(value.content).toString("utf8");
      }
    }
  }
  return "";
}
