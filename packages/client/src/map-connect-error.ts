import { Code, ConnectError } from "@connectrpc/connect";
import { ClientError, type ClientErrorCode } from "./client-error.js";
import { PIN_MISMATCH_MESSAGE } from "./server-key.js";

/**
 * Turns a failed call into a {@link ClientError}: the server's own message is kept (it names
 * the field or model at fault) and followed by what the user can do about it.
 * `action` says what was attempted, e.g. "upload model".
 */
export function mapCallError(
  err: unknown,
  action: string,
  serverUrl: string,
  hints: Partial<Record<ClientErrorCode, string>> = {},
): ClientError {
  if (err instanceof ClientError) return err;
  const connectError = ConnectError.from(err);
  const text = connectError.rawMessage;
  if (text.includes(PIN_MISMATCH_MESSAGE) || causeHas(err, PIN_MISMATCH_MESSAGE) || isCertificateRejection(err)) {
    return new ClientError(
      "server-key-mismatch",
      `${action}: the server at ${serverUrl} now presents a TLS key other than the attested one (it restarted, or someone is in the middle); nothing was sent: connect again to attest it anew`,
      { cause: err },
    );
  }
  const [code, defaultHint] = HINTS[connectError.code] ?? ["server-error", "retry, and report it to the server's operator if it persists"];
  const hint = hints[code] ?? defaultHint;
  const server = text === "" ? "" : `: ${text}`;
  if (code === "unavailable") {
    return new ClientError(code, `${action}: cannot reach the Sanctum server at ${serverUrl}${server}; ${hint}`, { cause: err });
  }
  // The server's messages usually say what to do already; add ours only when it does not.
  const advice = text === "" || !ADVICE.test(text) ? `; ${hint}` : "";
  return new ClientError(code, `${action} failed${server}${advice}`, { cause: err });
}

/** Words by which a server message already gives advice (a command, a flag, a request). */
const ADVICE = /'sanctum |--[a-z]|\b(ask|retry|give|use|pick|choose|wait|check|send|list|delete|upload)\b/i;

const HINTS: Partial<Record<Code, readonly [ClientErrorCode, string]>> = {
  [Code.InvalidArgument]: ["invalid-argument", "fix the request as the message says"],
  [Code.NotFound]: ["not-found", "check the id or name ('sanctum model list' shows the models you may use)"],
  [Code.PermissionDenied]: [
    "permission-denied",
    "ask the model's owner to allow your public key ('sanctum keygen' prints it) with --allow, or to make it --public",
  ],
  [Code.Unauthenticated]: ["unauthenticated", "check this machine's clock and your identity file, then retry"],
  [Code.ResourceExhausted]: ["resource-exhausted", "send less data, or ask the operator to raise --max-model-bytes or --max-request-bytes"],
  [Code.FailedPrecondition]: ["failed-precondition", "resolve the conflict the message names and retry"],
  [Code.AlreadyExists]: ["failed-precondition", "choose another name, or delete the existing one first"],
  [Code.Unavailable]: ["unavailable", "check the URL (--server or SANCTUM_SERVER) and that the server runs"],
  [Code.Canceled]: ["cancelled", "the call was cancelled before it completed; retry if that was not intended"],
  [Code.DeadlineExceeded]: ["cancelled", "the call timed out; retry, or raise the timeout"],
  [Code.Internal]: ["server-error", "the server failed; retry, and report it to the server's operator if it persists"],
  [Code.Unimplemented]: ["server-error", "the server does not offer this call: upgrade the server or the client so their versions match"],
};

// OpenSSL's verdicts when the peer's certificate is not the pinned one (the pinned
// certificate is the only trust anchor, so any other key fails the chain before
// checkServerIdentity runs).
const CERTIFICATE_REJECTIONS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

function isCertificateRejection(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CERTIFICATE_REJECTIONS.has(code)) return true;
  }
  return false;
}

function causeHas(err: unknown, marker: string): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e.message.includes(marker)) return true;
  }
  return false;
}
