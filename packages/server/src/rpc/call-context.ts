import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { ServerError } from "../server-error.js";

/** The authenticated caller's public key id, set by the bearer-auth interceptor. */
export const CALLER = createContextKey<string | undefined>(undefined, { description: "sanctum caller id" });

/** What a handler tells the audit trail about the call (the object it acted on). */
export interface AuditNote {
  object: string;
}

/** A fresh note per call; the audit-trail interceptor reads it after the handler ran. */
export const AUDIT_NOTE = createContextKey<AuditNote | undefined>(undefined, { description: "sanctum audit note" });

/**
 * Whether a call reached our interceptors. Calls refused before (a body over the size limit,
 * a malformed message) are audited by the request handler instead, with `rejection` as outcome.
 */
export interface CallTrace {
  entered: boolean;
  rejection?: string;
}

/** Set by the request handler for every call. */
export const CALL_TRACE = createContextKey<CallTrace | undefined>(undefined, { description: "sanctum call trace" });

/** The caller of an authenticated call; a handler reached without one is a wiring bug. */
export function callerOf(ctx: HandlerContext): string {
  const caller = ctx.values.get(CALLER);
  if (caller === undefined) throw new ServerError("internal", "call reached a handler without authentication");
  return caller;
}

/** Records the id of the object a call acted on, for the audit log. */
export function noteObject(ctx: HandlerContext, objectId: string): void {
  const note = ctx.values.get(AUDIT_NOTE);
  if (note !== undefined) note.object = objectId;
}
