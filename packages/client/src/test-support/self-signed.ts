// Test support only: a self-signed ECDSA P-256 certificate built by hand in DER (RFC 5280),
// so the tests need no X.509 library (@peculiar/x509 needs a Reflect metadata polyfill that
// the workspace does not install).
import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";

export interface SelfSignedKey {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly privateKey: KeyObject;
  readonly spki: Uint8Array;
}

function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const seq = (...c: Uint8Array[]) => tlv(0x30, ...c);
const hex = (h: string) => Buffer.from(h.replace(/\s/g, ""), "hex");
const ECDSA_SHA256 = seq(hex("06 08 2a 86 48 ce 3d 04 03 02"));
const NAME = seq(tlv(0x31, seq(hex("06 03 55 04 03"), tlv(0x0c, Buffer.from("sanctum-test")))));

function utcTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
  return tlv(0x17, Buffer.from(s, "ascii"));
}

/** A fresh key and a CA:true self-signed certificate for it, valid for a day. */
export function createSelfSignedKey(): SelfSignedKey {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  const serial = randomBytes(8);
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01;
  const extensions = tlv(
    0xa3,
    seq(
      // basicConstraints, critical, CA:true: lets a client trust this very certificate as its anchor.
      seq(hex("06 03 55 1d 13"), hex("01 01 ff"), tlv(0x04, seq(hex("01 01 ff")))),
      // keyUsage, critical: digitalSignature and keyCertSign.
      seq(hex("06 03 55 1d 0f"), hex("01 01 ff"), tlv(0x04, hex("03 02 02 84"))),
    ),
  );
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, hex("02 01 02")),
    tlv(0x02, serial),
    ECDSA_SHA256,
    NAME,
    seq(utcTime(new Date(now - 60_000)), utcTime(new Date(now + 86_400_000))),
    NAME,
    spki,
    extensions,
  );
  const signature = sign("sha256", tbs, privateKey);
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), signature));
  const certificatePem = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
  return {
    certificatePem,
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    privateKey,
    spki: new Uint8Array(spki),
  };
}
