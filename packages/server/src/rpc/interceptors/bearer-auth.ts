import type { Interceptor } from "@connectrpc/connect";
import { verifyAccessToken } from "@sanctum/protocol";
import { ServerError } from "../../server-error.js";
import { CALLER } from "../call-context.js";
import { createVerifiedTokenCache, tokenExpiryMs } from "../../auth/verified-token-cache.js";

/** Options of {@link bearerAuth}. */
export interface BearerAuthOptions {
  /** This server's audience: `audienceForSpki` of its own TLS key. */
  readonly audience: string;
  /** Fully qualified method names that need no token (GetEvidence). */
  readonly publicMethods: ReadonlySet<string>;
  readonly now: () => Date;
}

/**
 * Checks `authorization: Bearer <token>` on every call but the public ones: an EdDSA token
 * signed by the key its issuer names, for this server's attested key, not expired. The
 * issuer (a public key id) becomes the caller. Messages never contain the token. Verified
 * tokens are remembered until they expire (see VerifiedTokenCache).
 */
export function bearerAuth(options: BearerAuthOptions): Interceptor {
  const cache = createVerifiedTokenCache();
  return (next) =>
    async function bearerAuthInterceptor(req) {
      if (options.publicMethods.has(`${req.service.typeName}/${req.method.name}`)) return next(req);
      const header = req.header.get("authorization");
      // The scheme is case-insensitive (RFC 7235 section 2.1).
      const match = header === null ? null : /^Bearer +([A-Za-z0-9_.-]+)$/i.exec(header);
      if (match === null) {
        throw new ServerError(
          "unauthenticated",
          "missing access token: every call but GetEvidence needs 'authorization: Bearer <token>' from a Sanctum client",
        );
      }
      const token = match[1]!;
      const now = options.now();
      let caller = cache.get(token, now.getTime());
      if (caller === undefined) {
        caller = await verifyAccessToken(token, { audience: options.audience, now });
        const exp = tokenExpiryMs(token);
        if (exp !== undefined) cache.set(token, caller, exp);
      }
      req.contextValues.set(CALLER, caller);
      return next(req);
    };
}
