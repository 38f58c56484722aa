import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { ServerError } from "../server-error.js";

const MAGIC = Buffer.from("SNCTSEAL1", "ascii");
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The AES-256 key blobs are sealed under, derived from the root key (HKDF-SHA256, RFC 5869). */
export function deriveBlobKey(rootKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", rootKey, Buffer.from("sanctum-seal-salt-v1"), Buffer.from("sanctum-blob-key-v1"), 32));
}

/**
 * The associated data of a blob: its kind and id. A sealed file moved to another id or kind
 * (or swapped with another blob) fails authentication instead of being read as that one.
 */
export function blobAad(kind: string, id: string): Buffer {
  return Buffer.from(`sanctum-blob-v1\0${kind}\0${id}`, "utf8");
}

/**
 * AES-256-GCM with a random 96-bit nonce (NIST SP 800-38D 8.2.2: at most 2^32 messages per
 * key with random nonces, far beyond what one server stores). Format:
 * magic || nonce (12) || ciphertext || tag (16).
 */
export function seal(key: Buffer, aad: Buffer, plaintext: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  return Buffer.concat([MAGIC, nonce, body, final, cipher.getAuthTag()]);
}

/** Opens a sealed blob; throws `storage-corrupt` if it was altered, truncated or moved. */
export function unseal(key: Buffer, aad: Buffer, sealed: Uint8Array): Buffer {
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (buf.length < MAGIC.length + NONCE_BYTES + TAG_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new ServerError("storage-corrupt", "a sealed blob is truncated or not a Sanctum blob: restore the data dir from backup");
  }
  const nonce = buf.subarray(MAGIC.length, MAGIC.length + NONCE_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const body = buf.subarray(MAGIC.length + NONCE_BYTES, buf.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch (cause) {
    throw new ServerError(
      "storage-corrupt",
      "a sealed blob failed authentication (altered, moved, or sealed under another key): restore the data dir from backup",
      { cause },
    );
  }
}
