/**
 * Remembers tokens already verified, until they expire. Clients reuse a token for most of its
 * short life (at most 300 s), and an EdDSA verification (key import plus signature check)
 * costs far more than the rest of a small predict call. A cached entry is exactly as good as
 * verifying again: same token bytes, same audience (one per server key), and expiry is
 * re-checked against the clock on every hit.
 */
export interface VerifiedTokenCache {
  /** The caller of a token verified before and not yet expired at `nowMs`. */
  get(token: string, nowMs: number): string | undefined;
  set(token: string, caller: string, expiresAtMs: number): void;
}

/** A bounded cache; the oldest entries go first when full. `maxEntries` default 10 000. */
export function createVerifiedTokenCache(maxEntries = 10_000): VerifiedTokenCache {
  const entries = new Map<string, { caller: string; expiresAtMs: number }>();
  return {
    get(token, nowMs) {
      const hit = entries.get(token);
      if (hit === undefined) return undefined;
      if (nowMs >= hit.expiresAtMs) {
        entries.delete(token);
        return undefined;
      }
      return hit.caller;
    },
    set(token, caller, expiresAtMs) {
      entries.set(token, { caller, expiresAtMs });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
  };
}

/** The `exp` claim (ms) of a compact JWT whose signature was already verified; undefined if absent. */
export function tokenExpiryMs(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { exp?: unknown };
    return typeof payload.exp === "number" ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
