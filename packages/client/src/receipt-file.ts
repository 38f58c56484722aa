import { timingSafeEqual } from "node:crypto";
import {
  DEFAULT_POLICY,
  decodeEvidenceBundle,
  encodeEvidenceBundle,
  verifyEvidence,
  type EvidenceBundle,
  type VerificationPolicy,
  type VerificationResult,
} from "@sanctum/attestation";
import { digestTensors, verifyReceiptSignature, type ReceiptPayload, type SignedReceipt } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";
import { toRawTensors, type TensorMap } from "./typed-tensor.js";

/**
 * Everything needed to check a prediction receipt offline, long after the connection: the
 * receipt signed by the server's TLS key, that key, and the evidence (with its binding to
 * the key and the client's nonce) that proved what ran behind it.
 */
export interface ReceiptFile {
  readonly receipt: SignedReceipt;
  /** The attested server key (SPKI DER) that signed the receipt. */
  readonly serverSpki: Uint8Array;
  /** The evidence the client verified when it connected; `binding` is always present. */
  readonly evidence: EvidenceBundle;
}

/** The file form: JSON with base64 bytes; `statement` repeats the payload for readers and is never trusted. */
export function encodeReceiptFile(file: ReceiptFile): string {
  let statement: unknown;
  try {
    statement = JSON.parse(Buffer.from(file.receipt.payload).toString("utf8"));
  } catch {
    statement = null;
  }
  const json = {
    type: "sanctum-receipt",
    version: 1,
    statement,
    receipt: { payload: b64(file.receipt.payload), signature: b64(file.receipt.signature) },
    serverSpki: b64(file.serverSpki),
    evidence: JSON.parse(encodeEvidenceBundle(file.evidence)) as unknown,
  };
  return JSON.stringify(json, null, 2) + "\n";
}

/** Parses a receipt file's text; throws `receipt-invalid` naming what is malformed. */
export function decodeReceiptFile(text: string): ReceiptFile {
  const bad = (why: string, cause?: unknown) =>
    new ClientError("receipt-invalid", `not a valid Sanctum receipt file (${why}): use a file written by 'sanctum predict --receipt'`, { cause });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw bad("not JSON", cause);
  }
  const r = parsed as Record<string, unknown> | null;
  if (r === null || typeof r !== "object" || r["type"] !== "sanctum-receipt" || r["version"] !== 1) throw bad("wrong type or version");
  const receipt = r["receipt"] as Record<string, unknown> | undefined;
  if (receipt === undefined || receipt === null || typeof receipt !== "object") throw bad("no receipt");
  let evidence: EvidenceBundle;
  try {
    evidence = decodeEvidenceBundle(JSON.stringify(r["evidence"] ?? null));
  } catch (cause) {
    throw bad("its evidence is malformed", cause);
  }
  if (evidence.binding === undefined) throw bad("its evidence has no binding to the server key");
  return {
    receipt: { payload: unb64(receipt["payload"], "receipt.payload", bad), signature: unb64(receipt["signature"], "receipt.signature", bad) },
    serverSpki: unb64(r["serverSpki"], "serverSpki", bad),
    evidence,
  };
}

/** Options of {@link verifyReceiptFile}. */
export interface VerifyReceiptOptions {
  /** What evidence to accept; default DEFAULT_POLICY (hardware platforms only). */
  readonly policy?: VerificationPolicy;
  /** Accept evidence from the simulation platform (development only); default false. */
  readonly allowSimulation?: boolean;
  /** The time evidence validity is checked at; default now. */
  readonly now?: Date;
  /** When given, the receipt's input digest must be these tensors' digest. */
  readonly inputs?: TensorMap;
  /** When given, the receipt's output digest must be these tensors' digest. */
  readonly outputs?: TensorMap;
}

/** One reason a receipt is not valid. `code` is stable; evidence problems are prefixed `evidence-`. */
export interface ReceiptProblem {
  readonly code: string;
  readonly message: string;
}

/** The outcome of {@link verifyReceiptFile}: valid only when `problems` is empty (fails closed). */
export interface ReceiptVerification {
  readonly valid: boolean;
  /** What the receipt states; absent when its signature does not verify. */
  readonly statement?: ReceiptPayload;
  readonly attestation?: VerificationResult;
  readonly problems: readonly ReceiptProblem[];
}

/**
 * Checks a receipt offline: the signature by the server key, that the evidence verifies
 * under the policy and that its report data binds that very key, and optionally that the
 * digests match local input and output tensors. Every problem found is listed.
 */
export async function verifyReceiptFile(file: ReceiptFile, options: VerifyReceiptOptions = {}): Promise<ReceiptVerification> {
  const problems: ReceiptProblem[] = [];
  let statement: ReceiptPayload | undefined;
  try {
    statement = verifyReceiptSignature(file.receipt, file.serverSpki);
  } catch (err) {
    problems.push({ code: "signature", message: err instanceof Error ? err.message : "receipt signature does not verify" });
  }
  const binding = file.evidence.binding;
  if (binding === undefined || !sameBytes(binding.spki, file.serverSpki)) {
    problems.push({ code: "binding", message: "the evidence binds another server key than the one that signed the receipt" });
  }
  const base = options.policy ?? DEFAULT_POLICY;
  const policy = options.allowSimulation === true ? { ...base, allowSimulation: true } : base;
  let attestation: VerificationResult | undefined;
  try {
    attestation = await verifyEvidence(file.evidence, { policy, ...(options.now === undefined ? {} : { now: options.now }) });
    problems.push(...attestation.problems.map((p) => ({ code: `evidence-${p.code}`, message: p.message })));
  } catch (err) {
    problems.push({ code: "evidence-malformed", message: err instanceof Error ? err.message : "the evidence is malformed" });
  }
  if (statement !== undefined && options.inputs !== undefined && digestTensors(toRawTensors(options.inputs)) !== statement.inputDigest) {
    problems.push({ code: "input-digest", message: "the given inputs are not the ones this receipt covers" });
  }
  if (statement !== undefined && options.outputs !== undefined && digestTensors(toRawTensors(options.outputs)) !== statement.outputDigest) {
    problems.push({ code: "output-digest", message: "the given outputs are not the ones this receipt covers" });
  }
  return {
    valid: problems.length === 0,
    ...(statement === undefined ? {} : { statement }),
    ...(attestation === undefined ? {} : { attestation }),
    problems,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

function unb64(value: unknown, field: string, bad: (why: string) => ClientError): Uint8Array {
  if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw bad(`field '${field}' is missing or not base64`);
  return new Uint8Array(Buffer.from(value, "base64"));
}
