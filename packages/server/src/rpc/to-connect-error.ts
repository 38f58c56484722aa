import { Code, ConnectError } from "@connectrpc/connect";
import { ProtocolError } from "@sanctum/protocol";
import { ServerError, type ServerErrorCode } from "../server-error.js";

const CODES: Readonly<Record<ServerErrorCode, Code>> = {
  "invalid-argument": Code.InvalidArgument,
  "not-found": Code.NotFound,
  "permission-denied": Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  "resource-exhausted": Code.ResourceExhausted,
  "already-exists": Code.AlreadyExists,
  "failed-precondition": Code.FailedPrecondition,
  "invalid-options": Code.Internal,
  "sealing-key": Code.Internal,
  "storage-corrupt": Code.Internal,
  "data-dir-in-use": Code.Internal,
  internal: Code.Internal,
};

/** The generic message of every Internal error: the detail stays in the server log. */
export const INTERNAL_MESSAGE = "internal server error: the operator can find the cause in the server log";

/**
 * The one place errors become RPC statuses. Our typed errors keep their (user-facing,
 * data-free) message; token failures are Unauthenticated; a ConnectError raised by the
 * transport (size limits, cancellations) passes through; anything else becomes Internal with
 * a generic message, so no internal text ever reaches a client.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof ServerError) {
    const code = CODES[err.code];
    return new ConnectError(code === Code.Internal ? INTERNAL_MESSAGE : err.message, code);
  }
  if (err instanceof ProtocolError) {
    if (err.code.startsWith("token-")) return new ConnectError(err.message, Code.Unauthenticated);
    return new ConnectError(err.message, Code.InvalidArgument);
  }
  return new ConnectError(INTERNAL_MESSAGE, Code.Internal);
}

/** snake_case name of a code for logs and the audit log ("ok" for success). */
export function outcomeOf(err: unknown): string {
  if (err === undefined) return "ok";
  const code = toConnectError(err).code;
  return Code[code].replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : "_" + c.toLowerCase()));
}
