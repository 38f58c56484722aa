import { AttestationError, type AttestationErrorCode } from "../attestation-error.js";

/**
 * A minimal DER reader (ITU-T X.690): just enough to walk certificates, CRLs and the AMD and
 * Intel certificate extensions. It is strict (definite lengths only, minimal length encodings
 * not required but bounds always checked) and throws only {@link AttestationError}, so hostile
 * input can never crash the verifier or make it read out of bounds.
 */
export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number; tag numbers > 30 refused). */
  readonly tag: number;
  /** The whole TLV. */
  readonly bytes: Uint8Array;
  /** The value octets. */
  readonly content: Uint8Array;
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Reads one TLV at `offset`; `code` is the error code to throw on malformed input. */
export function readDer(bytes: Uint8Array, offset: number, code: AttestationErrorCode, what: string): DerNode {
  if (offset + 2 > bytes.byteLength) throw malformed(code, what);
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw malformed(code, what);
  let length = bytes[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // Four length octets (4 GiB) are far beyond any certificate; more, or indefinite (0), is refused.
    if (count === 0 || count > 4 || offset + 2 + count > bytes.byteLength) throw malformed(code, what);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i]!;
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.byteLength) throw malformed(code, what);
  return { tag, bytes: bytes.subarray(offset, end), content: bytes.subarray(offset + header, end) };
}

/** Reads a whole buffer as exactly one TLV (no trailing bytes). */
export function readDerExact(bytes: Uint8Array, code: AttestationErrorCode, what: string): DerNode {
  const node = readDer(bytes, 0, code, what);
  if (node.bytes.byteLength !== bytes.byteLength) throw malformed(code, what);
  return node;
}

/** The children of a constructed node. */
export function derChildren(node: DerNode, code: AttestationErrorCode, what: string): DerNode[] {
  if ((node.tag & 0x20) === 0) throw malformed(code, what);
  const out: DerNode[] = [];
  let offset = 0;
  while (offset < node.content.byteLength) {
    const child = readDer(node.content, offset, code, what);
    out.push(child);
    offset += child.bytes.byteLength;
  }
  return out;
}

/** Children of a node that must have the given tag. */
export function expectChildren(node: DerNode, tag: number, code: AttestationErrorCode, what: string): DerNode[] {
  if (node.tag !== tag) throw malformed(code, what);
  return derChildren(node, code, what);
}

/** Dotted form of an OBJECT IDENTIFIER. */
export function decodeOid(node: DerNode, code: AttestationErrorCode, what: string): string {
  if (node.tag !== TAG.oid || node.content.byteLength === 0) throw malformed(code, what);
  const parts: number[] = [];
  let value = 0;
  for (const byte of node.content) {
    if (value > 2 ** 45) throw malformed(code, what);
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  if (node.content[node.content.byteLength - 1]! & 0x80) throw malformed(code, what);
  return parts.join(".");
}

/** A non-negative INTEGER that fits a JS number exactly. */
export function decodeSmallInteger(node: DerNode, code: AttestationErrorCode, what: string): number {
  if (node.tag !== TAG.integer || node.content.byteLength === 0 || node.content.byteLength > 7) throw malformed(code, what);
  if (node.content[0]! & 0x80) throw malformed(code, what);
  let value = 0;
  for (const byte of node.content) value = value * 256 + byte;
  return value;
}

/** An INTEGER's magnitude as lower-case hex without leading zero octets ("0" for zero). */
export function decodeIntegerHex(node: DerNode, code: AttestationErrorCode, what: string): string {
  if (node.tag !== TAG.integer || node.content.byteLength === 0) throw malformed(code, what);
  let i = 0;
  while (i < node.content.byteLength - 1 && node.content[i] === 0) i++;
  return Buffer.from(node.content.subarray(i)).toString("hex");
}

/** UTCTime or GeneralizedTime (X.509 profile, RFC 5280 section 4.1.2.5: Z-terminated, seconds). */
export function decodeTime(node: DerNode, code: AttestationErrorCode, what: string): Date {
  const text = Buffer.from(node.content).toString("latin1");
  let match: RegExpExecArray | null;
  let year: number;
  if (node.tag === TAG.utcTime && (match = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    const yy = Number(match[1]);
    // RFC 5280: YY >= 50 means 19YY, otherwise 20YY.
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === TAG.generalizedTime && (match = /^(\d\d\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    year = Number(match[1]);
  } else {
    throw malformed(code, what);
  }
  const ms = Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6]));
  if (!Number.isFinite(ms)) throw malformed(code, what);
  return new Date(ms);
}

/** A BIT STRING's bytes (only whole octets: 0 unused bits). */
export function decodeBitString(node: DerNode, code: AttestationErrorCode, what: string): Uint8Array {
  if (node.tag !== TAG.bitString || node.content.byteLength < 1 || node.content[0] !== 0) throw malformed(code, what);
  return node.content.subarray(1);
}

function malformed(code: AttestationErrorCode, what: string): AttestationError {
  return new AttestationError(code, `${what} is not valid DER`);
}
