import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";

/** Options of {@link bodyLimit}. */
export interface BodyLimitOptions {
  /** Largest request body, in bytes actually received. */
  readonly maxBytes: number;
  /** The server flag that sets it, named in the error so an operator knows what to raise. */
  readonly flag: string;
}

/**
 * Counts a request body's bytes as they stream in and fails the call with ResourceExhausted
 * as soon as it passes the limit, before the handler runs and before the body is buffered
 * (Hono's body-limit). A declared content-length over the limit fails at once.
 */
export function bodyLimit(options: BodyLimitOptions): (req: UniversalServerRequest) => UniversalServerRequest {
  const tooLarge = (size: string) =>
    new ConnectError(
      `request is ${size} bytes, over this server's limit of ${options.maxBytes} bytes (${options.flag}): send less per request or ask the operator to raise ${options.flag}`,
      Code.ResourceExhausted,
    );
  return function applyBodyLimit(req) {
    const declared = Number(req.header.get("content-length") ?? NaN);
    const body = req.body;
    if (!(Symbol.asyncIterator in Object(body))) return req;
    const source = body as AsyncIterable<Uint8Array>;
    async function* limited(): AsyncIterable<Uint8Array> {
      if (declared > options.maxBytes) throw tooLarge(String(declared));
      let received = 0;
      for await (const chunk of source) {
        received += chunk.byteLength;
        if (received > options.maxBytes) throw tooLarge(`more than ${options.maxBytes}`);
        yield chunk;
      }
    }
    return { ...req, body: limited() };
  };
}
