import { AttestationError } from "../attestation-error.js";

/** The TD report body fields (Intel TDX DCAP Quoting Library API, appendix A.3.2 and A.4.2). */
export interface TdReportBody {
  readonly teeTcbSvn: Uint8Array;
  readonly mrSeam: Uint8Array;
  readonly mrSignerSeam: Uint8Array;
  readonly seamAttributes: Uint8Array;
  /** TDATTRIBUTES; bits 7:0 are the TD-under-debug (TUD) group, bit 0 DEBUG. */
  readonly tdAttributes: Uint8Array;
  readonly xfam: Uint8Array;
  readonly mrtd: Uint8Array;
  readonly mrConfigId: Uint8Array;
  readonly mrOwner: Uint8Array;
  readonly mrOwnerConfig: Uint8Array;
  readonly rtmrs: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  readonly reportData: Uint8Array;
  /** TD 1.5 bodies (quote v5, body type 3) only. */
  readonly teeTcbSvn2?: Uint8Array;
  readonly mrServiceTd?: Uint8Array;
}

/** A parsed TDX DCAP quote (version 4 or 5) with ECDSA-P256 attestation key and QE report certification data. */
export interface TdxQuote {
  readonly version: 4 | 5;
  /** 2 = ECDSA-256-with-P-256 curve, the only type TDX quotes use. */
  readonly attestationKeyType: number;
  /** 0x81 = TDX. */
  readonly teeType: number;
  readonly qeVendorId: Uint8Array;
  /** Quote v5: 2 = TD 1.0 body, 3 = TD 1.5 body; v4: 2. */
  readonly bodyType: number;
  readonly body: TdReportBody;
  /** Header and body: what the attestation key signs. */
  readonly signedBytes: Uint8Array;
  /** ECDSA P-256 signature r||s (big-endian, 64 bytes). */
  readonly signature: Uint8Array;
  /** Attestation public key X||Y (64 bytes). */
  readonly attestationKey: Uint8Array;
  /** The Quoting Enclave's SGX report (384 bytes), signed by the PCK key. */
  readonly qeReport: Uint8Array;
  readonly qeReportSignature: Uint8Array;
  readonly qeAuthData: Uint8Array;
  /** PEM text of the PCK chain (certification data type 5): leaf, intermediate, root. */
  readonly pckChainPem: string;
}

export const TDX_TEE_TYPE = 0x81;
const HEADER_BYTES = 48;
const TD10_BODY_BYTES = 584;
const TD15_BODY_BYTES = 648;
const QE_REPORT_BYTES = 384;

/**
 * Parses a TDX quote, version 4 (header, 584-byte TD report body, signature data) or version 5
 * (header, body type u16 and size u32, then a TD 1.0 or TD 1.5 body). Every length is checked
 * against the buffer; anything out of shape throws `malformed-evidence` naming the field.
 */
export function parseTdxQuote(input: Uint8Array): TdxQuote {
  let bytes = input;
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < HEADER_BYTES + 6) throw malformed("the quote is shorter than its header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(0, true);
  if (version !== 4 && version !== 5) throw malformed(`quote version ${version} is not supported (expected 4 or 5)`);
  const attestationKeyType = view.getUint16(2, true);
  const teeType = view.getUint32(4, true);
  if (teeType !== TDX_TEE_TYPE) throw malformed(`TEE type 0x${teeType.toString(16)} is not TDX (0x81)`);
  let bodyType = 2;
  let bodyOffset = HEADER_BYTES;
  let bodyBytes = TD10_BODY_BYTES;
  if (version === 5) {
    bodyType = view.getUint16(HEADER_BYTES, true);
    bodyBytes = view.getUint32(HEADER_BYTES + 2, true);
    bodyOffset = HEADER_BYTES + 6;
    const expected = bodyType === 2 ? TD10_BODY_BYTES : bodyType === 3 ? TD15_BODY_BYTES : undefined;
    if (expected === undefined) throw malformed(`quote v5 body type ${bodyType} is not a TD report (2 or 3)`);
    if (bodyBytes !== expected) throw malformed(`quote v5 body size ${bodyBytes} does not match body type ${bodyType} (${expected})`);
  }
  const signedEnd = bodyOffset + bodyBytes;
  const reader = new Reader(bytes, signedEnd);
  const signatureDataLength = reader.u32("signature data length");
  const quoteEnd = reader.offset + signatureDataLength;
  if (quoteEnd > bytes.byteLength) throw malformed(`signature data length ${signatureDataLength} runs past the end of the quote`);
  // Quote buffers are often handed over padded (the quote generation buffer is fixed-size):
  // bytes after the signature data are accepted only if they are all zero.
  if (!bytes.subarray(quoteEnd).every((b) => b === 0)) throw malformed("non-zero bytes after the quote's signature data");
  bytes = bytes.subarray(0, quoteEnd);
  const signature = reader.take(64, "quote signature");
  const attestationKey = reader.take(64, "attestation key");
  const certType = reader.u16("certification data type");
  const certSize = reader.u32("certification data size");
  if (certType !== 6) throw malformed(`certification data type ${certType} is not QE report certification data (6)`);
  if (certSize !== bytes.byteLength - reader.offset) throw malformed("certification data size does not match the quote's length");
  const qeReport = reader.take(QE_REPORT_BYTES, "QE report");
  const qeReportSignature = reader.take(64, "QE report signature");
  const authSize = reader.u16("QE authentication data size");
  const qeAuthData = reader.take(authSize, "QE authentication data");
  const chainType = reader.u16("PCK certification data type");
  const chainSize = reader.u32("PCK certification data size");
  if (chainType !== 5) throw malformed(`inner certification data type ${chainType} is not a PCK certificate chain (5)`);
  const chain = reader.take(chainSize, "PCK certificate chain");
  if (reader.offset !== bytes.byteLength) throw malformed("trailing bytes after the PCK certificate chain");
  return {
    version,
    attestationKeyType,
    teeType,
    qeVendorId: bytes.subarray(12, 28),
    bodyType,
    body: parseBody(bytes.subarray(bodyOffset, signedEnd)),
    signedBytes: bytes.subarray(0, signedEnd),
    signature,
    attestationKey,
    qeReport,
    qeReportSignature,
    qeAuthData,
    // Trailing NULs are common in the PEM blob written by the quoting library.
    pckChainPem: Buffer.from(chain).toString("latin1").replace(/\0+$/, ""),
  };
}

function parseBody(body: Uint8Array): TdReportBody {
  const at = (offset: number, length: number): Uint8Array => body.subarray(offset, offset + length);
  return {
    teeTcbSvn: at(0, 16),
    mrSeam: at(16, 48),
    mrSignerSeam: at(64, 48),
    seamAttributes: at(112, 8),
    tdAttributes: at(120, 8),
    xfam: at(128, 8),
    mrtd: at(136, 48),
    mrConfigId: at(184, 48),
    mrOwner: at(232, 48),
    mrOwnerConfig: at(280, 48),
    rtmrs: [at(328, 48), at(376, 48), at(424, 48), at(472, 48)],
    reportData: at(520, 64),
    ...(body.byteLength === TD15_BODY_BYTES ? { teeTcbSvn2: at(584, 16), mrServiceTd: at(600, 48) } : {}),
  };
}

/** The SGX report of the Quoting Enclave (SGX Developer Reference, "sgx_report_body_t"). */
export interface QeReport {
  readonly cpuSvn: Uint8Array;
  readonly miscSelect: number;
  readonly attributes: Uint8Array;
  readonly mrEnclave: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly reportData: Uint8Array;
}

export function parseQeReport(report: Uint8Array): QeReport {
  if (report.byteLength !== QE_REPORT_BYTES) throw malformed("QE report must be 384 bytes");
  const view = new DataView(report.buffer, report.byteOffset, report.byteLength);
  return {
    cpuSvn: report.subarray(0, 16),
    miscSelect: view.getUint32(16, true),
    attributes: report.subarray(48, 64),
    mrEnclave: report.subarray(64, 96),
    mrSigner: report.subarray(128, 160),
    isvProdId: view.getUint16(256, true),
    isvSvn: view.getUint16(258, true),
    reportData: report.subarray(320, 384),
  };
}

class Reader {
  offset: number;
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array, offset: number) {
    this.#bytes = bytes;
    this.offset = offset;
  }

  take(length: number, what: string): Uint8Array {
    if (this.offset + length > this.#bytes.byteLength) throw malformed(`the quote ends inside the ${what}`);
    const out = this.#bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  u16(what: string): number {
    const b = this.take(2, what);
    return b[0]! | (b[1]! << 8);
  }

  u32(what: string): number {
    const b = this.take(4, what);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16)) + b[3]! * 0x1000000;
  }
}

function malformed(what: string): AttestationError {
  return new AttestationError("malformed-evidence", `TDX quote: ${what}`);
}
