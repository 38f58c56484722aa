import { AttestationError } from "../attestation-error.js";
import type { ParsedCertificate } from "../internal/certificate.js";
import { decodeOid, decodeSmallInteger, expectChildren, readDerExact, TAG } from "../internal/der.js";

/** The SGX extensions of a PCK certificate (Intel "SGX PCK Certificate and CRL Profile", section 1.3.5). */
export interface PckExtensions {
  /** The 16 CPUSVN component SVNs (tcb .2.1 to .2.16). */
  readonly cpuSvnComponents: readonly number[];
  readonly pceSvn: number;
  /** Hex, 2 bytes. */
  readonly pceId: string;
  /** Hex, 6 bytes: the platform family, matched against TCB info. */
  readonly fmspc: string;
}

const SGX_EXTENSIONS = "1.2.840.113741.1.13.1";

/** Reads the SGX extensions; throws `malformed-certificate` when absent or out of shape. */
export function readPckExtensions(pck: ParsedCertificate): PckExtensions {
  const code = "malformed-certificate";
  const what = "PCK certificate SGX extension";
  const raw = pck.extensions.get(SGX_EXTENSIONS);
  if (raw === undefined) throw new AttestationError(code, `the PCK certificate has no SGX extension (${SGX_EXTENSIONS})`);
  const items = new Map<string, ReturnType<typeof readDerExact>>();
  for (const item of expectChildren(readDerExact(raw, code, what), TAG.sequence, code, what)) {
    const [oid, value] = expectChildren(item, TAG.sequence, code, what);
    if (oid === undefined || value === undefined) throw new AttestationError(code, `${what} has an empty item`);
    items.set(decodeOid(oid, code, what), value);
  }
  const tcb = items.get(`${SGX_EXTENSIONS}.2`);
  const pceId = items.get(`${SGX_EXTENSIONS}.3`);
  const fmspc = items.get(`${SGX_EXTENSIONS}.4`);
  if (tcb === undefined || pceId === undefined || fmspc === undefined) throw new AttestationError(code, `${what} lacks TCB, PCE-ID or FMSPC`);
  const svns = new Map<string, number>();
  for (const item of expectChildren(tcb, TAG.sequence, code, what)) {
    const [oid, value] = expectChildren(item, TAG.sequence, code, what);
    if (oid === undefined || value === undefined) throw new AttestationError(code, `${what} has an empty TCB item`);
    if (value.tag === TAG.integer) svns.set(decodeOid(oid, code, what), decodeSmallInteger(value, code, what));
  }
  const cpuSvnComponents: number[] = [];
  for (let n = 1; n <= 16; n++) {
    const svn = svns.get(`${SGX_EXTENSIONS}.2.${n}`);
    if (svn === undefined) throw new AttestationError(code, `${what} lacks CPUSVN component ${n}`);
    cpuSvnComponents.push(svn);
  }
  const pceSvn = svns.get(`${SGX_EXTENSIONS}.2.17`);
  if (pceSvn === undefined) throw new AttestationError(code, `${what} lacks PCESVN`);
  if (pceId.tag !== TAG.octetString || pceId.content.byteLength !== 2 || fmspc.tag !== TAG.octetString || fmspc.content.byteLength !== 6) {
    throw new AttestationError(code, `${what} has a malformed PCE-ID or FMSPC`);
  }
  return {
    cpuSvnComponents,
    pceSvn,
    pceId: Buffer.from(pceId.content).toString("hex"),
    fmspc: Buffer.from(fmspc.content).toString("hex"),
  };
}
