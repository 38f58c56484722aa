import { AttestationError } from "../attestation-error.js";

/** Size of an ATTESTATION_REPORT, versions 2 to 5 (AMD SEV-SNP ABI spec, table 23 in rev 1.58). */
export const SNP_REPORT_BYTES = 0x4a0;
/** The signature covers bytes [0, 0x2A0). */
export const SNP_SIGNED_BYTES = 0x2a0;
/** Guest policy bit 19: DEBUG allowed (ABI spec, table "Guest Policy Structure"). */
export const SNP_POLICY_DEBUG = 1n << 19n;

/** Which key signed the report (SIGNING_KEY, bits 4:2 of the word at 0x48). */
export type SnpSigningKey = "vcek" | "vlek" | "none";

/**
 * A parsed SEV-SNP attestation report. Every field is little-endian in the report; byte arrays
 * are views into the caller's buffer.
 */
export interface SnpReport {
  readonly version: number;
  readonly guestSvn: number;
  /** Guest policy (u64). */
  readonly policy: bigint;
  readonly familyId: Uint8Array;
  readonly imageId: Uint8Array;
  readonly vmpl: number;
  /** 1 = ECDSA P-384 with SHA-384, the only one defined. */
  readonly signatureAlgorithm: number;
  readonly currentTcb: Uint8Array;
  readonly platformInfo: bigint;
  readonly signingKey: SnpSigningKey;
  /** MASK_CHIP_KEY (bit 1 at 0x48): the firmware did not sign with the chip key, the signature is zero. */
  readonly maskChipKey: boolean;
  readonly reportData: Uint8Array;
  readonly measurement: Uint8Array;
  readonly hostData: Uint8Array;
  readonly idKeyDigest: Uint8Array;
  readonly authorKeyDigest: Uint8Array;
  readonly reportId: Uint8Array;
  /** The TCB the VCEK was derived from (8 bytes; layout depends on the product line). */
  readonly reportedTcb: Uint8Array;
  /** CPUID family, model and stepping (version 3 and later; undefined before). */
  readonly cpuid?: { readonly family: number; readonly model: number; readonly stepping: number };
  readonly chipId: Uint8Array;
  readonly committedTcb: Uint8Array;
  readonly launchTcb: Uint8Array;
  /** Bytes [0, 0x2A0): what the signature covers. */
  readonly signedBytes: Uint8Array;
  /** Signature r and s, big-endian, 48 bytes each; undefined when the high bytes are not zero. */
  readonly signature?: { readonly r: Uint8Array; readonly s: Uint8Array };
}

/**
 * Parses a SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI spec, "ATTESTATION_REPORT Structure").
 * Accepts versions 2 to 5 (version 3 adds CPUID fields; version 5 the mitigation vectors, which
 * fit in what earlier versions reserved, so the layout used here is the same). Throws
 * `malformed-evidence` for anything else.
 */
export function parseSnpReport(bytes: Uint8Array): SnpReport {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== SNP_REPORT_BYTES) {
    throw new AttestationError(
      "malformed-evidence",
      `SEV-SNP report must be ${SNP_REPORT_BYTES} bytes, got ${bytes instanceof Uint8Array ? bytes.byteLength : "no bytes"}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(0x00, true);
  if (version < 2 || version > 5) {
    throw new AttestationError("malformed-evidence", `SEV-SNP report version ${version} is not supported (expected 2 to 5)`);
  }
  const signerInfo = view.getUint32(0x48, true);
  const keyField = (signerInfo >> 2) & 0x7;
  // SIGNING_KEY: 0 VCEK, 1 VLEK, 7 none; other values are reserved.
  const signingKey: SnpSigningKey | undefined = keyField === 0 ? "vcek" : keyField === 1 ? "vlek" : keyField === 7 ? "none" : undefined;
  if (signingKey === undefined) {
    throw new AttestationError("malformed-evidence", `SEV-SNP report names reserved signing key ${keyField}`);
  }
  const at = (offset: number, length: number): Uint8Array => bytes.subarray(offset, offset + length);
  const r = at(0x2a0, 72);
  const s = at(0x2a0 + 72, 72);
  // r and s are 72-byte little-endian fields of which only 48 bytes are significant for P-384.
  const wellFormed = r.subarray(48).every((b) => b === 0) && s.subarray(48).every((b) => b === 0);
  return {
    version,
    guestSvn: view.getUint32(0x04, true),
    policy: view.getBigUint64(0x08, true),
    familyId: at(0x10, 16),
    imageId: at(0x20, 16),
    vmpl: view.getUint32(0x30, true),
    signatureAlgorithm: view.getUint32(0x34, true),
    currentTcb: at(0x38, 8),
    platformInfo: view.getBigUint64(0x40, true),
    signingKey,
    maskChipKey: (signerInfo & 0x2) !== 0,
    reportData: at(0x50, 64),
    measurement: at(0x90, 48),
    hostData: at(0xc0, 32),
    idKeyDigest: at(0xe0, 48),
    authorKeyDigest: at(0x110, 48),
    reportId: at(0x140, 32),
    reportedTcb: at(0x180, 8),
    ...(version >= 3 ? { cpuid: { family: bytes[0x188]!, model: bytes[0x189]!, stepping: bytes[0x18a]! } } : {}),
    chipId: at(0x1a0, 64),
    committedTcb: at(0x1e0, 8),
    launchTcb: at(0x1f0, 8),
    signedBytes: at(0, SNP_SIGNED_BYTES),
    ...(wellFormed ? { signature: { r: reversed(r.subarray(0, 48)), s: reversed(s.subarray(0, 48)) } } : {}),
  };
}

function reversed(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes).reverse();
}
