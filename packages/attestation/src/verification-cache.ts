import { createHash } from "node:crypto";
import { parseCertificate, type ParsedCertificate } from "./internal/certificate.js";

/**
 * Remembers certificates, chains and collateral signatures that already verified, keyed by
 * their exact bytes, so a client that re-attests the same server (or many replicas of one
 * platform) skips the public-key work. Only successes are cached, and everything that depends
 * on time (validity windows, CRL and collateral windows) is still checked at each call's `now`,
 * so a cached chain can never outlive its certificates.
 */
export interface VerificationCache {
  /** Entries held (parsed certificates plus verified signatures). */
  readonly size: number;
  clear(): void;
}

export interface VerificationCacheOptions {
  /** Most entries kept; the oldest are dropped first. Default 256, range 1..1_000_000. */
  readonly maxEntries?: number;
}

/** Creates a cache to pass as `verifyEvidence(bundle, { cache })`. */
export function createVerificationCache(options: VerificationCacheOptions = {}): VerificationCache {
  const maxEntries = options.maxEntries ?? 256;
  if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 1_000_000) {
    throw new RangeError(`maxEntries must be an integer in 1..1000000, got ${maxEntries}`);
  }
  return new VerificationCacheImpl(maxEntries);
}

/** The operations verifiers use; not exported from the package. */
export class VerificationCacheImpl implements VerificationCache {
  readonly #entries = new Map<string, ParsedCertificate | true>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }

  /** A parsed certificate, from cache when these exact bytes were parsed before. */
  certificate(der: Uint8Array, what: string): ParsedCertificate {
    const key = "cert:" + digest(der);
    const hit = this.#entries.get(key);
    if (hit !== undefined && hit !== true) return hit;
    const parsed = parseCertificate(der, what);
    this.#put(key, parsed);
    return parsed;
  }

  /** Runs `check` unless a check with the same key already succeeded; caches only success. */
  verified(key: string, check: () => boolean): boolean {
    const full = "ok:" + key;
    if (this.#entries.get(full) === true) return true;
    const ok = check();
    if (ok) this.#put(full, true);
    return ok;
  }

  #put(key: string, value: ParsedCertificate | true): void {
    if (this.#maxEntries === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}

/** A cache that remembers nothing: every verification is cold. */
export function noCache(): VerificationCacheImpl {
  return new VerificationCacheImpl(0);
}

/** SHA-256 (hex) of bytes, the cache key of anything signed. */
export function digest(...parts: (Uint8Array | string)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) {
    hash.update(typeof part === "string" ? Buffer.from(part, "utf8") : part);
    hash.update("\u0000");
  }
  return hash.digest("hex");
}
