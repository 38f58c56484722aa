import type { VerificationResult } from "@sanctum/attestation";

/** Stable codes of {@link ClientError}, so callers can `switch (err.code)`. */
export type ClientErrorCode =
  /** The server could not be reached (wrong URL, server down, TLS failure). */
  | "unavailable"
  /** The server's evidence did not verify against the policy. Nothing was sent. */
  | "attestation-failed"
  /** The server runs on the simulation platform and simulation was not allowed. Nothing was sent. */
  | "simulation-refused"
  /** The server presented a TLS key other than the one its evidence binds (or than the pinned one). */
  | "server-key-mismatch"
  /** The server rejected an argument (input name, dtype, shape, model file...). */
  | "invalid-argument"
  /** Unknown model id or name. */
  | "not-found"
  /** The model's owner has not allowed this identity. */
  | "permission-denied"
  /** The server did not accept the access token (expired, foreign, malformed). */
  | "unauthenticated"
  /** A size limit of the server was exceeded. */
  | "resource-exhausted"
  /** The request conflicts with the server's state (e.g. a name already taken). */
  | "failed-precondition"
  /** The server failed; its message never carries internals. */
  | "server-error"
  /** The call was cancelled by the caller (AbortSignal) or timed out. */
  | "cancelled"
  /** A local file could not be read or does not hold what was expected. */
  | "invalid-file"
  /** A tensor given to the SDK is malformed (dtype, shape, data length). */
  | "invalid-tensor"
  /** A receipt does not verify (signature, evidence, binding or digests). */
  | "receipt-invalid"
  /** The client was closed. */
  | "closed";

/**
 * The one error class of @sanctum/client. Messages say what was wrong and what to do, and
 * never contain keys, tokens, evidence bytes or tensor data; `cause` keeps the original error.
 */
export class ClientError extends Error {
  override readonly name = "ClientError";
  readonly code: ClientErrorCode;
  /**
   * For `attestation-failed`, `simulation-refused` and `server-key-mismatch` raised while
   * verifying evidence: what the evidence said and every problem found, so a tool can show
   * them (`sanctum attest` does).
   */
  readonly verification?: VerificationResult;

  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown; verification?: VerificationResult }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.verification !== undefined) this.verification = options.verification;
  }
}
