/** Stable codes of {@link ProtocolError}, so callers can `switch (err.code)`. */
export type ProtocolErrorCode =
  | "invalid-identity"
  | "invalid-public-key"
  | "token-invalid"
  | "token-expired"
  | "token-audience"
  | "receipt-invalid"
  | "invalid-tensor"
  | "invalid-safetensors"
  | "invalid-dataset"
  | "audit-invalid";

/**
 * Errors of the wire formats shared by client and server. Messages are fixed per
 * failure and never contain the token, key or signature that failed.
 */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
