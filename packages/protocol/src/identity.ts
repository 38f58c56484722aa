import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { ProtocolError } from "./protocol-error.js";

const PREFIX = "ed25519:";
// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32-byte key follows.
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** A person's Ed25519 key pair. The public key id is the identity, like an SSH key. */
export interface Identity {
  /** `ed25519:` followed by the base64url raw public key; what `--allow` and `--trainers` take. */
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

/** Makes a new identity from the operating system's secure random generator. */
export function generateIdentity(): Identity {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { publicKey: publicKeyIdOf(publicKey), privateKey };
}

/** The public key id (`ed25519:...`) of an Ed25519 key object. */
export function publicKeyIdOf(key: KeyObject): string {
  const spki = key.export({ type: "spki", format: "der" });
  return PREFIX + spki.subarray(ED25519_SPKI_PREFIX.length).toString("base64url");
}

/** Parses a public key id; throws `invalid-public-key` naming what a valid id looks like. */
export function parsePublicKeyId(id: string): KeyObject {
  const raw = id.startsWith(PREFIX) ? Buffer.from(id.slice(PREFIX.length), "base64url") : undefined;
  if (raw === undefined || raw.length !== 32 || raw.toString("base64url") !== id.slice(PREFIX.length)) {
    throw new ProtocolError(
      "invalid-public-key",
      "not a Sanctum public key id: expected 'ed25519:' followed by 43 base64url characters (as printed by 'sanctum keygen')",
    );
  }
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

/** True when `id` is a well-formed public key id. */
export function isPublicKeyId(id: string): boolean {
  try {
    parsePublicKeyId(id);
    return true;
  } catch {
    return false;
  }
}

/** The identity file's text: JSON holding the PKCS#8 private key. Write it with mode 0600. */
export function encodeIdentityFile(identity: Identity): string {
  const pkcs8 = identity.privateKey.export({ type: "pkcs8", format: "der" });
  return (
    JSON.stringify(
      { type: "sanctum-identity", version: 1, publicKey: identity.publicKey, privateKey: pkcs8.toString("base64") },
      null,
      2,
    ) + "\n"
  );
}

/** Reads an identity file's text; throws `invalid-identity` if it is not one. */
export function decodeIdentityFile(text: string): Identity {
  const invalid = (cause?: unknown) =>
    new ProtocolError("invalid-identity", "not a Sanctum identity file: make one with 'sanctum keygen'", { cause });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw invalid(cause);
  }
  if (typeof parsed !== "object" || parsed === null) throw invalid();
  const record = parsed as Record<string, unknown>;
  if (record["type"] !== "sanctum-identity" || typeof record["privateKey"] !== "string") throw invalid();
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(record["privateKey"], "base64"), format: "der", type: "pkcs8" });
  } catch (cause) {
    throw invalid(cause);
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw invalid();
  const publicKey = publicKeyIdOf(createPublicKey(privateKey));
  if (record["publicKey"] !== undefined && record["publicKey"] !== publicKey) throw invalid();
  return { publicKey, privateKey };
}
