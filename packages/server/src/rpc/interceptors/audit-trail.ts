import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { AuditLog } from "../../audit/audit-log.js";
import { AUDIT_NOTE, CALL_TRACE, CALLER, type AuditNote } from "../call-context.js";
import { outcomeOf } from "../to-connect-error.js";

/**
 * Appends every call to the hash-chained audit log once it ended: caller, method, the object
 * the handler noted, and the outcome code. Never any data. Logs one line per call too. Fails
 * closed: while the log cannot be written, calls are refused before they run.
 */
export function auditTrail(options: { readonly audit: AuditLog; readonly logger: Logger }): Interceptor {
  return (next) =>
    async function auditTrailInterceptor(req) {
      const trace = req.contextValues.get(CALL_TRACE);
      if (trace !== undefined) trace.entered = true;
      const note: AuditNote = { object: "" };
      req.contextValues.set(AUDIT_NOTE, note);
      const method = methodName(req.service.name, req.method.name);
      const started = performance.now();
      if (!options.audit.writable()) {
        options.audit.append({ caller: req.contextValues.get(CALLER) ?? "anonymous", method, object: "", outcome: "unavailable" });
        throw new ConnectError("the server cannot write its audit log, so it refuses every call until it can; its operator must check the data disk (full or read-only?)", Code.Unavailable);
      }
      const record = (failure: unknown) => {
        const caller = req.contextValues.get(CALLER) ?? "anonymous";
        const outcome = outcomeOf(failure);
        try {
          options.audit.append({ caller, method, object: note.object, outcome });
        } catch (err) {
          options.logger.error({ method, err: (err as Error).message }, "audit append failed");
        }
        // Failures at info, successes at debug: the audit log already holds every call. The
        // line's object is built only when its level is on (this runs on every call).
        const level = outcome === "ok" ? "debug" : "info";
        if (options.logger.isLevelEnabled(level)) {
          options.logger[level]({ method, caller, object: note.object, outcome, ms: Math.round((performance.now() - started) * 10) / 10 }, "call");
        }
      };
      let res: Awaited<ReturnType<typeof next>>;
      try {
        res = await next(req);
      } catch (err) {
        record(err);
        throw err;
      }
      // A server-streaming handler runs only as its messages are pulled, after this returned:
      // its object and outcome are known once the stream ended (a refused DownloadWeights
      // fails there, and must not be audited as ok).
      if (res.stream && req.method.methodKind === "server_streaming") {
        return { ...res, message: recordWhenDone(res.message, record) };
      }
      record(undefined);
      return res;
    };
}

/** Passes a server stream's messages through and records its outcome when it ends. */
async function* recordWhenDone<T>(messages: AsyncIterable<T>, record: (failure: unknown) => void): AsyncIterable<T> {
  let failure: unknown;
  try {
    yield* messages;
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    record(failure);
  }
}

/** "Service/Method" strings, made once per method instead of once per call. */
const methodNames = new Map<string, Map<string, string>>();
function methodName(service: string, method: string): string {
  let names = methodNames.get(service);
  if (names === undefined) methodNames.set(service, (names = new Map()));
  let name = names.get(method);
  if (name === undefined) names.set(method, (name = `${service}/${method}`));
  return name;
}
