/** Stable codes of {@link ServerError}, so callers can `switch (err.code)`. */
export type ServerErrorCode =
  | "invalid-argument"
  | "not-found"
  | "permission-denied"
  | "unauthenticated"
  | "resource-exhausted"
  | "already-exists"
  | "failed-precondition"
  | "invalid-options"
  | "sealing-key"
  | "storage-corrupt"
  | "data-dir-in-use"
  | "internal";

/**
 * Every failure the server reports on purpose. The RPC edge maps each code to one
 * ConnectError code (see `rpc/to-connect-error.ts`); messages are written for the caller,
 * say what to do, and never contain model bytes, tensor data, keys or tokens.
 */
export class ServerError extends Error {
  override readonly name = "ServerError";
  readonly code: ServerErrorCode;

  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
