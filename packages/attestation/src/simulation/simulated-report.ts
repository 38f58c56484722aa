import { AttestationError } from "../attestation-error.js";

/**
 * A simulated report: JSON signed by a software Ed25519 key the server made at start.
 * It proves nothing about the machine (the key is not rooted in hardware); it exists so
 * the whole protocol runs in development.
 * Layout: u32 LE length of the JSON body, the body, then a 64-byte Ed25519 signature.
 */
export interface SimulatedReportBody {
  readonly type: "sanctum-simulated-report";
  /** Hex, 64 bytes. */
  readonly reportData: string;
  /** Hex SHA-384 of the server version: a stand-in for a launch measurement. */
  readonly measurement: string;
  readonly serverVersion: string;
  readonly configDigest: string;
  /** Base64 SPKI DER of the signing key. */
  readonly signingKey: string;
}

export interface SimulatedReport {
  readonly body: SimulatedReportBody;
  readonly signedBytes: Uint8Array;
  readonly signature: Uint8Array;
}

export function encodeSimulatedReport(bodyBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bodyBytes.byteLength + signature.byteLength);
  new DataView(out.buffer).setUint32(0, bodyBytes.byteLength, true);
  out.set(bodyBytes, 4);
  out.set(signature, 4 + bodyBytes.byteLength);
  return out;
}

export function parseSimulatedReport(bytes: Uint8Array): SimulatedReport {
  if (bytes.byteLength < 4 + 64) throw malformed();
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (bytes.byteLength !== 4 + length + 64) throw malformed();
  const signedBytes = bytes.subarray(4, 4 + length);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(signedBytes).toString("utf8"));
  } catch (cause) {
    throw malformed(cause);
  }
  const b = body as Record<string, unknown> | null;
  const fields = ["reportData", "measurement", "serverVersion", "configDigest", "signingKey"];
  if (b === null || typeof b !== "object" || b["type"] !== "sanctum-simulated-report" || fields.some((f) => typeof b[f] !== "string")) {
    throw malformed();
  }
  return { body: b as unknown as SimulatedReportBody, signedBytes, signature: bytes.subarray(4 + length) };
}

function malformed(cause?: unknown): AttestationError {
  return new AttestationError("malformed-evidence", "simulated report is malformed", { cause });
}
