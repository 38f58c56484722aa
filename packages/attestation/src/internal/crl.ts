import { verify } from "node:crypto";
import { AttestationError } from "../attestation-error.js";
import type { ParsedCertificate } from "./certificate.js";
import { decodeBitString, decodeIntegerHex, decodeOid, decodeTime, expectChildren, readDerExact, TAG } from "./der.js";

/** An X.509 CRL (RFC 5280 section 5.1) with what revocation checks need. */
export interface ParsedCrl {
  readonly issuer: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  /** Revoked serial numbers, lower-case hex without leading zeros. */
  readonly revoked: ReadonlySet<string>;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
}

const ECDSA_HASH: Readonly<Record<string, string>> = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
};

/** Parses a DER CRL; throws `malformed-certificate` naming `what`. */
export function parseCrl(der: Uint8Array, what: string): ParsedCrl {
  const code = "malformed-certificate";
  const top = expectChildren(readDerExact(der, code, what), TAG.sequence, code, what);
  if (top.length !== 3) throw new AttestationError(code, `${what} is not an X.509 CRL`);
  const tbs = expectChildren(top[0]!, TAG.sequence, code, what);
  let i = tbs[0]?.tag === TAG.integer ? 1 : 0;
  const issuer = tbs[i + 1];
  const thisUpdate = tbs[i + 2];
  if (issuer === undefined || thisUpdate === undefined || issuer.tag !== TAG.sequence) throw new AttestationError(code, `${what} is not an X.509 CRL`);
  i += 3;
  let nextUpdate: Date | undefined;
  if (tbs[i] !== undefined && (tbs[i]!.tag === TAG.utcTime || tbs[i]!.tag === TAG.generalizedTime)) nextUpdate = decodeTime(tbs[i++]!, code, what);
  const revoked = new Set<string>();
  if (tbs[i] !== undefined && tbs[i]!.tag === TAG.sequence) {
    for (const entry of expectChildren(tbs[i]!, TAG.sequence, code, what)) {
      const [serial] = expectChildren(entry, TAG.sequence, code, what);
      if (serial === undefined) throw new AttestationError(code, `${what} has an empty revocation entry`);
      revoked.add(decodeIntegerHex(serial, code, what));
    }
  }
  const [algorithm] = expectChildren(top[1]!, TAG.sequence, code, what);
  if (algorithm === undefined) throw new AttestationError(code, `${what} has no signature algorithm`);
  return {
    issuer: issuer.bytes,
    thisUpdate: decodeTime(thisUpdate, code, what),
    ...(nextUpdate === undefined ? {} : { nextUpdate }),
    revoked,
    tbs: top[0]!.bytes,
    signatureAlgorithm: decodeOid(algorithm, code, what),
    signature: decodeBitString(top[2]!, code, what),
  };
}

/** True when `issuer` issued the CRL: same Name and its key verifies the ECDSA signature. */
export function isCrlIssuedBy(crl: ParsedCrl, issuer: ParsedCertificate): boolean {
  const hash = ECDSA_HASH[crl.signatureAlgorithm];
  if (hash === undefined || !Buffer.from(crl.issuer).equals(issuer.subject)) return false;
  try {
    return verify(hash, crl.tbs, issuer.publicKey, crl.signature);
  } catch {
    return false;
  }
}
