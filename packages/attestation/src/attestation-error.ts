/** Stable codes of {@link AttestationError}. */
export type AttestationErrorCode =
  | "malformed-evidence"
  | "malformed-bundle"
  | "malformed-policy"
  | "malformed-certificate"
  | "unsupported-platform"
  | "platform-unavailable"
  | "collection-failed";

/**
 * Errors of evidence parsing and collection. Verification failures are not thrown: they are
 * returned as problems of a {@link VerificationResult}, so a caller sees every cause at once.
 * Messages never contain evidence bytes.
 */
export class AttestationError extends Error {
  override readonly name = "AttestationError";
  readonly code: AttestationErrorCode;

  constructor(code: AttestationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
