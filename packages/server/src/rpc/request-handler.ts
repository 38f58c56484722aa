import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from "node:http2";
import { Code, ConnectError, createConnectRouter, createContextValues, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import type { Logger } from "pino";
import { CALL_TRACE, type CallTrace } from "./call-context.js";

/** The listener, with counters for shutdown logs and tests. */
export interface RequestHandler {
  (req: Http2ServerRequest, res: Http2ServerResponse): void;
  /** Calls received so far. */
  readonly received: () => number;
  /** Calls whose response has not finished. */
  readonly active: () => number;
}

/** Options of {@link createRequestHandler}. */
export interface RequestHandlerOptions {
  /** Registers the services (with per-method options such as readMaxBytes). */
  readonly routes: (router: ConnectRouter) => void;
  /** Interceptors, outermost first. */
  readonly interceptors: Interceptor[];
  /** Request-body transforms per RPC path (e.g. `/sanctum.v1.ModelService/Predict`), applied before the handler. */
  readonly bodyTransforms: ReadonlyMap<string, (req: UniversalServerRequest) => UniversalServerRequest>;
  /** Headers put on every response, errors and unknown paths included. */
  readonly responseHeaders: Readonly<Record<string, string>>;
  /** readMaxBytes of methods without their own. */
  readonly defaultReadMaxBytes: number;
  readonly logger: Logger;
  /** Told about calls refused before they reached the interceptors (so they are audited too). */
  readonly onRefused?: (call: { readonly method: string; readonly outcome: string }) => void;
}

/**
 * The HTTP/2 request listener: Connect, gRPC and gRPC-Web on one router (like
 * connectNodeAdapter), with our steps in front: response headers first, then the body
 * transforms of the method, then connect's pipeline and our interceptors. Compression is
 * off: it would let a body expand past the limits after they were counted.
 */
export function createRequestHandler(options: RequestHandlerOptions): RequestHandler {
  const router = createConnectRouter({
    interceptors: options.interceptors,
    readMaxBytes: options.defaultReadMaxBytes,
    acceptCompression: [],
  });
  options.routes(router);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, h]));
  const headers = Object.entries(options.responseHeaders);
  const tuned = new WeakSet<Http2Session>();
  let received = 0;
  let active = 0;
  const handle = function sanctumRequestHandler(req: Http2ServerRequest, res: Http2ServerResponse): void {
    received++;
    active++;
    const session = req.stream.session;
    if (session !== undefined && !tuned.has(session)) {
      tuned.add(session);
      widenFlowControl(session);
    }
    for (const [name, value] of headers) res.setHeader(name, value);
    const url = req.url;
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    const handler = paths.get(path);
    if (handler === undefined) {
      res.once("close", () => active--);
      res.writeHead(404);
      res.end();
      return;
    }
    const trace: CallTrace = { entered: false };
    const values = createContextValues().set(CALL_TRACE, trace);
    let uReq = universalRequestFromNodeRequest(req, res, undefined, values);
    const transform = options.bodyTransforms.get(path);
    if (transform !== undefined) uReq = transform(uReq);
    // With gRPC the request is read while the response streams out, so whether the call
    // reached the interceptors is known only once the stream closed.
    res.once("close", () => {
      active--;
      if (!trace.entered) {
        const outcome = trace.rejection ?? "not_handled";
        options.onRefused?.({ method: `${handler.service.name}/${handler.method.name}`, outcome });
      }
    });
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        options.logger.warn({ path, errName: (reason as Error).name }, "response failed");
      });
  };
  return Object.assign(handle, { received: () => received, active: () => active });
}

/** HTTP/2 flow-control windows of a connection after its first call (RFC 9113 section 6.9). */
const STREAM_WINDOW_BYTES = 1024 * 1024;
const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * Raises a connection's receive windows from HTTP/2's 64 KiB default. With 64 KiB a request
 * body of 100 KiB (a batch of 32 images) stalls after 64 KiB until our WINDOW_UPDATE has made
 * a round trip, and concurrent calls share one 64 KiB connection window: measured on the
 * cnn at batch 32, 16 in flight, 570 -> 1320 calls/s and the client's CPU per call halved
 * (bench/README.md, Inference). It does not raise what a client can make the server hold:
 * bodies are read in full anyway, bounded by --max-request-bytes and the stream limit.
 * Done on the first call because the server's `session` event is not ours to wire; a
 * SETTINGS change applies to streams already open too (section 6.9.2), and the first call of
 * an SDK connection is the small evidence call.
 */
function widenFlowControl(session: Http2Session): void {
  try {
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    session.settings({ initialWindowSize: STREAM_WINDOW_BYTES });
  } catch {
    // A session already closing refuses new settings; its calls fail on their own.
  }
}
