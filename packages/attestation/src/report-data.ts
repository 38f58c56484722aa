import { createHash } from "node:crypto";

const DOMAIN = "sanctum-attestation-v1";

/**
 * The 64 bytes a server puts in its report: SHA-512(domain || SHA-256(SPKI DER) || nonce).
 * It binds the evidence to the server's TLS key and to the client's fresh nonce, so the
 * evidence can neither be moved to another key nor replayed.
 */
export function computeReportData(spkiDer: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (nonce.byteLength !== 32) throw new RangeError(`nonce must be 32 bytes, got ${nonce.byteLength}`);
  const spkiHash = createHash("sha256").update(spkiDer).digest();
  return new Uint8Array(createHash("sha512").update(DOMAIN).update(spkiHash).update(nonce).digest());
}
