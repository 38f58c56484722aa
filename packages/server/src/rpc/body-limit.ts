import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { CALL_TRACE } from "./call-context.js";

/** Options of {@link bodyLimit}. */
export interface BodyLimitOptions {
  /** Largest request message, in bytes actually received (the figure named in the error). */
  readonly maxBytes: number;
  /** Bytes of framing tolerated on top (gRPC's 5-byte envelope); default 0. */
  readonly framingBytes?: number;
  /** The server flag that sets it, named in the error so an operator knows what to raise. */
  readonly flag: string;
}

/**
 * Counts a request body's bytes as they stream in and fails the call with ResourceExhausted
 * as soon as it passes the limit, before the handler runs and before the body is buffered
 * (Hono's body-limit). A declared content-length over the limit fails at once.
 */
export function bodyLimit(options: BodyLimitOptions): (req: UniversalServerRequest) => UniversalServerRequest {
  const limit = options.maxBytes + (options.framingBytes ?? 0);
  const tooLarge = (req: UniversalServerRequest, size?: number) => {
    const trace = req.contextValues?.get(CALL_TRACE);
    if (trace !== undefined) trace.rejection = "resource_exhausted";
    return new ConnectError(
      `request is ${size === undefined ? "larger than" : `${size} bytes, over`} this server's limit of ${options.maxBytes} bytes (${options.flag}): send less per request or ask the operator to raise ${options.flag}`,
      Code.ResourceExhausted,
    );
  };
  return function applyBodyLimit(req) {
    const declared = Number(req.header.get("content-length") ?? NaN);
    const body = req.body;
    if (!(Symbol.asyncIterator in Object(body))) return req;
    const source = body as AsyncIterable<Uint8Array>;
    async function* limited(): AsyncIterable<Uint8Array> {
      if (declared > limit) throw tooLarge(req, declared);
      let received = 0;
      for await (const chunk of source) {
        received += chunk.byteLength;
        if (received > limit) throw tooLarge(req);
        yield chunk;
      }
    }
    return { ...req, body: limited() };
  };
}
