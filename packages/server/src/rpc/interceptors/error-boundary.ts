import type { Interceptor } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import type { Logger } from "pino";
import { toConnectError } from "../to-connect-error.js";

/**
 * The outermost interceptor: whatever a handler throws, or a server stream throws while its
 * messages are pulled, leaves as a ConnectError (see {@link toConnectError}). Internal
 * failures are logged with their cause's name, code and stack (our errors never carry data),
 * and the client gets a generic message.
 */
export function errorBoundary(options: { readonly logger: Logger }): Interceptor {
  return (next) =>
    async function errorBoundaryInterceptor(req) {
      const mapped = (err: unknown) => {
        const e = toConnectError(err);
        if (e.code === Code.Internal) {
          const cause = err as { name?: string; code?: string; stack?: string };
          options.logger.error({ method: req.method.name, errName: cause.name, errCode: cause.code, stack: cause.stack }, "internal error");
        }
        return e;
      };
      let res: Awaited<ReturnType<typeof next>>;
      try {
        res = await next(req);
      } catch (err) {
        throw mapped(err);
      }
      // A server-streaming handler runs only as its messages are pulled, after this returned.
      if (res.stream && req.method.methodKind === "server_streaming") return { ...res, message: mapFailure(res.message, mapped) };
      return res;
    };
}

/** Passes a server stream's messages through; a failure leaves mapped. */
async function* mapFailure<T>(messages: AsyncIterable<T>, mapped: (err: unknown) => Error): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw mapped(err);
  }
}
