import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { create, isMessage, toBinary, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { Http2SessionManager } from "@connectrpc/connect-node";
import { codeFromHttpStatus, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";

/** Options of {@link createUnaryTransport}. */
export interface UnaryTransportOptions {
  /** The server origin, e.g. `https://127.0.0.1:9443`. */
  readonly baseUrl: string;
  /** The pinned HTTP/2 session (shared with `streams`, so every call uses one TLS connection). */
  readonly sessionManager: Http2SessionManager;
  /** Headers added to a call (the bearer token), by method; may be async (signing a token). */
  readonly callHeaders: (typeName: string, methodName: string) => Promise<OutgoingHttpHeaders> | OutgoingHttpHeaders;
  /** Carries the streaming calls (uploads, training progress). */
  readonly streams: Transport;
  /** Largest response body accepted, in bytes; default 256 MiB. */
  readonly maxResponseBytes?: number;
}

/**
 * A Transport whose unary calls speak the Connect protocol (binary protobuf, one POST, no
 * envelope) directly on the pinned HTTP/2 session, and whose streaming calls go to `streams`.
 *
 * Why not connect-node's own transport for unary calls: on a small predict it spent about
 * 3x the CPU of the HTTP/2 request itself (interceptor chain, abort-signal linking, web
 * Headers and async-iterable plumbing per call; bench/inference/README figures), which was
 * most of the client's share of the per-call cost. The wire format is exactly Connect's
 * (https://connectrpc.com/docs/protocol#unary-request): errors are its JSON error body,
 * turned into the same ConnectError connect-node would raise, so error mapping is unchanged.
 * Security is the session's: the same pinned TLS connection and the same token per call.
 */
export function createUnaryTransport(options: UnaryTransportOptions): Transport {
  const maxBytes = options.maxResponseBytes ?? 256 * 1024 * 1024;
  const base = options.baseUrl.replace(/\/+$/, "");
  const paths = new Map<string, string>();
  return {
    async unary(method, signal, timeoutMs, header, input) {
      const message = isMessage(input, method.input) ? input : create(method.input, input);
      const body = toBinary(method.input, message);
      const headers: OutgoingHttpHeaders = {
        "content-type": "application/proto",
        "connect-protocol-version": "1",
        ...(timeoutMs !== undefined && timeoutMs > 0 ? { "connect-timeout-ms": String(Math.ceil(timeoutMs)) } : {}),
      };
      if (header !== undefined) new Headers(header).forEach((value, name) => (headers[name] = value));
      Object.assign(headers, await options.callHeaders(method.parent.typeName, method.name));
      if (signal?.aborted === true) throw new ConnectError("the call was cancelled before it was sent", Code.Canceled);
      const key = `${method.parent.typeName}/${method.name}`;
      let path = paths.get(key);
      if (path === undefined) paths.set(key, (path = new URL(`${base}/${key}`).pathname));
      let stream: ClientHttp2Stream;
      try {
        stream = await options.sessionManager.request("POST", path, headers, {});
      } catch (cause) {
        throw connectionError(cause);
      }
      const { status, responseHeaders, bytes } = await exchange(stream, body, options.sessionManager, maxBytes, signal, timeoutMs);
      const contentType = String(responseHeaders["content-type"] ?? "");
      if (status === 200 && contentType === "application/proto" && responseHeaders["content-encoding"] === undefined) {
        const output = decode(() => fromBinary(method.output, bytes));
        return {
          stream: false as const,
          service: method.parent,
          method,
          header: toHeaders(responseHeaders),
          message: output,
          trailer: new Headers(),
        };
      }
      throw errorResponse(status, contentType, responseHeaders, bytes);
    },
    stream(method, signal, timeoutMs, header, input, contextValues) {
      return options.streams.stream(method, signal, timeoutMs, header, input, contextValues);
    },
  };
}

interface Exchanged {
  readonly status: number;
  readonly responseHeaders: IncomingHttpHeaders;
  readonly bytes: Uint8Array;
}

/** Sends the body and reads the whole response, honouring the signal and the timeout. */
function exchange(
  stream: ClientHttp2Stream,
  body: Uint8Array,
  sessionManager: Http2SessionManager,
  maxBytes: number,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): Promise<Exchanged> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let responseHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let received = 0;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (err: ConnectError | undefined) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (err === undefined) {
        resolve({ status, responseHeaders, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
      } else {
        if (!stream.closed) stream.close(0x8); // NGHTTP2_CANCEL
        reject(err);
      }
    };
    const onAbort = () => finish(new ConnectError("the call was cancelled", Code.Canceled));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined && timeoutMs > 0) {
      timer = setTimeout(() => finish(new ConnectError(`the call did not complete within ${timeoutMs} ms`, Code.DeadlineExceeded)), timeoutMs);
    }
    stream.once("response", (h) => {
      responseHeaders = h;
      status = Number(h[":status"] ?? 0);
    });
    stream.on("data", (chunk: Buffer) => {
      sessionManager.notifyResponseByteRead(stream);
      received += chunk.byteLength;
      if (received > maxBytes) {
        finish(new ConnectError(`the response is larger than ${maxBytes} bytes`, Code.ResourceExhausted));
        return;
      }
      chunks.push(chunk);
    });
    stream.once("end", () => finish(undefined));
    stream.once("error", (cause: unknown) => finish(connectionError(cause)));
    stream.once("close", () => {
      if (!settled) finish(new ConnectError(`the stream closed before the response ended (HTTP/2 code ${stream.rstCode ?? "?"})`, Code.Unavailable));
    });
    stream.end(body);
  });
}

function decode<T>(parse: () => T): T {
  try {
    return parse();
  } catch (cause) {
    throw new ConnectError("the server sent a response that is not a valid message", Code.Internal, undefined, undefined, cause);
  }
}

/** A Connect error response (JSON body) as the ConnectError connect-node would raise. */
function errorResponse(status: number, contentType: string, responseHeaders: IncomingHttpHeaders, bytes: Uint8Array): ConnectError {
  const metadata = toHeaders(responseHeaders);
  const fallback = new ConnectError(`HTTP ${status}`, status === 200 ? Code.Internal : codeFromHttpStatus(status), metadata);
  if (status === 200) {
    return new ConnectError(`the server answered with content-type '${contentType.slice(0, 60)}', expected application/proto`, Code.Internal, metadata);
  }
  if (!contentType.startsWith("application/json")) return fallback;
  try {
    return errorFromJsonBytes(bytes, metadata, fallback);
  } catch {
    return fallback;
  }
}

/** A failure of the connection (refused, TLS, pin mismatch): kept as the cause, which the SDK's error mapping inspects. */
function connectionError(cause: unknown): ConnectError {
  if (cause instanceof ConnectError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ConnectError(message, Code.Unavailable, undefined, undefined, cause);
}

function toHeaders(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(h)) {
    if (name.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.append(name, v);
    else out.set(name, String(value));
  }
  return out;
}
