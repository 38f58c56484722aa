import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { ProtocolError } from "./protocol-error.js";

/** What a prediction receipt states; signed by the attested server key. */
export interface ReceiptPayload {
  readonly type: "sanctum-prediction-receipt";
  readonly version: 1;
  /** Model id. */
  readonly model: string;
  /** Hex SHA-256 of the model's ONNX bytes. */
  readonly modelSha256: string;
  /** {@link digestTensors} of the inputs. */
  readonly inputDigest: string;
  /** {@link digestTensors} of the outputs. */
  readonly outputDigest: string;
  /** RFC 3339 time of the prediction, by the server's clock. */
  readonly time: string;
}

export interface SignedReceipt {
  /** The payload's canonical JSON bytes, exactly as signed. */
  readonly payload: Uint8Array;
  /** ECDSA P-256 / SHA-256 signature in IEEE P1363 form (r || s). */
  readonly signature: Uint8Array;
}

/** Signs a receipt with the server's TLS private key (ECDSA P-256). */
export function signReceipt(payload: ReceiptPayload, privateKey: KeyObject): SignedReceipt {
  const bytes = Buffer.from(canonicalJson(payload), "utf8");
  const signature = sign("sha256", bytes, { key: privateKey, dsaEncoding: "ieee-p1363" });
  return { payload: bytes, signature };
}

/**
 * Checks a receipt's signature against the server key (SPKI DER) and returns what it states.
 * Whether that key is the attested one is the caller's check (see the client's receipt file).
 */
export function verifyReceiptSignature(receipt: SignedReceipt, spkiDer: Uint8Array): ReceiptPayload {
  let ok = false;
  try {
    const key = createPublicKey({ key: Buffer.from(spkiDer), format: "der", type: "spki" });
    ok = verify("sha256", receipt.payload, { key, dsaEncoding: "ieee-p1363" }, receipt.signature);
  } catch (cause) {
    throw new ProtocolError("receipt-invalid", "receipt server key is not a valid P-256 public key", { cause });
  }
  if (!ok) throw new ProtocolError("receipt-invalid", "receipt signature does not verify: the receipt was altered or not signed by this server");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(receipt.payload).toString("utf8"));
  } catch (cause) {
    throw new ProtocolError("receipt-invalid", "receipt payload is not JSON", { cause });
  }
  const p = parsed as Partial<ReceiptPayload> | null;
  if (
    p === null ||
    p.type !== "sanctum-prediction-receipt" ||
    p.version !== 1 ||
    typeof p.model !== "string" ||
    typeof p.modelSha256 !== "string" ||
    typeof p.inputDigest !== "string" ||
    typeof p.outputDigest !== "string" ||
    typeof p.time !== "string"
  ) {
    throw new ProtocolError("receipt-invalid", "receipt payload lacks required fields");
  }
  return p as ReceiptPayload;
}

/** JSON with object keys sorted at every level, so the signed bytes are reproducible. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}
