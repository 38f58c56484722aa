import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import { bitString, boolean, explicit, implicit, octetString, oid, sequence, set, time, unsignedInteger, utf8String } from "./der.js";

/** The server's TLS key and certificate, made in memory at start and never written to disk. */
export interface TlsIdentity {
  /** PEM of the self-signed certificate (what `http2.createSecureServer` serves). */
  readonly certificatePem: string;
  /** PEM of the private key, only ever handed to the TLS stack in memory. */
  readonly privateKeyPem: string;
  /** The private key, for signing receipts. */
  readonly privateKey: KeyObject;
  /** SubjectPublicKeyInfo DER of the key: what the evidence binds and clients pin. */
  readonly spki: Uint8Array;
}

/** Options of {@link createTlsIdentity}. */
export interface TlsIdentityOptions {
  /** Host name or IP put in the subjectAltName (clients pin the key, not the name). */
  readonly host: string;
  /** Certificate lifetime in days; default 365. The key dies with the process anyway. */
  readonly validityDays?: number;
  readonly now?: Date;
}

const ECDSA_WITH_SHA256 = sequence(oid("1.2.840.10045.4.3.2"));

/**
 * Makes a fresh ECDSA P-256 key pair and a self-signed X.509 v3 certificate for it (RFC 5280).
 * Trust does not come from the certificate but from attestation: the evidence binds SHA-256
 * of this SPKI, and clients pin the certificate as their only trust anchor.
 */
export function createTlsIdentity(options: TlsIdentityOptions): TlsIdentity {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const now = options.now ?? new Date();
  const name = sequence(set(sequence(oid("2.5.4.3"), utf8String("sanctum"))));
  const host = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host;
  const san =
    isIP(host) === 4
      ? implicit(7, Buffer.from(host.split(".").map(Number)))
      : isIP(host) === 6
        ? implicit(7, ipv6Bytes(host))
        : implicit(2, Buffer.from(host, "ascii"));
  const extensions = sequence(
    // CA:true and keyCertSign let a client use this very certificate as its only trust anchor
    // (`ca`), which is how the attested key gets pinned.
    sequence(oid("2.5.29.19"), boolean(true), octetString(sequence(boolean(true)))),
    // digitalSignature (bit 0) and keyCertSign (bit 5): 0b10000100, 2 unused bits.
    sequence(oid("2.5.29.15"), boolean(true), octetString(bitString(Buffer.from([0x84]), 2))),
    sequence(oid("2.5.29.17"), octetString(sequence(san))),
  );
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))),
    unsignedInteger(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    ECDSA_WITH_SHA256,
    name,
    sequence(time(new Date(now.getTime() - 60_000)), time(new Date(now.getTime() + (options.validityDays ?? 365) * 86_400_000))),
    name,
    spki,
    explicit(3, extensions),
  );
  const signature = sign("sha256", tbs, privateKey); // DER ECDSA-Sig-Value, as X.509 wants
  const der = sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
  return {
    certificatePem: pem("CERTIFICATE", der),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    privateKey,
    spki: new Uint8Array(spki),
  };
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return Buffer.from(groups.flatMap((g) => { const v = parseInt(g, 16); return [v >> 8, v & 0xff]; }));
}



