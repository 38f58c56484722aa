import type { Interceptor } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import type { Logger } from "pino";
import { toConnectError } from "../to-connect-error.js";

/**
 * The outermost interceptor: whatever a handler throws leaves as a ConnectError (see
 * {@link toConnectError}). Internal failures are logged with their cause's name, code and
 * stack (our errors never carry data), and the client gets a generic message.
 */
export function errorBoundary(options: { readonly logger: Logger }): Interceptor {
  return (next) =>
    async function errorBoundaryInterceptor(req) {
      try {
        return await next(req);
      } catch (err) {
        const mapped = toConnectError(err);
        if (mapped.code === Code.Internal) {
          const e = err as { name?: string; code?: string; stack?: string };
          options.logger.error({ method: req.method.name, errName: e.name, errCode: e.code, stack: e.stack }, "internal error");
        }
        throw mapped;
      }
    };
}
