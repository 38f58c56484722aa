import { AttestationError } from "./attestation-error.js";
import type { EvidenceBundle } from "./evidence-bundle.js";
import { computeReportData } from "./report-data.js";
import { verifySnp } from "./sev-snp/verify-snp.js";
import { verifySimulated } from "./simulation/verify-simulated.js";
import { verifyTdx } from "./tdx/verify-tdx.js";
import { noCache, VerificationCacheImpl, type VerificationCache } from "./verification-cache.js";
import { DEFAULT_POLICY, type VerificationPolicy } from "./verification-policy.js";
import type { VerificationResult } from "./verification-result.js";

export interface VerifyEvidenceOptions {
  /** What to accept; default {@link DEFAULT_POLICY}. */
  readonly policy?: VerificationPolicy;
  /** The time every validity window is checked at; default now. */
  readonly now?: Date;
  /**
   * Report data the evidence must carry. Default: computed from `bundle.binding` when present;
   * when neither is given the report data is not checked (offline inspection only).
   */
  readonly expectedReportData?: Uint8Array;
  /**
   * Verified chains to reuse (see {@link createVerificationCache}); default none, so every call
   * verifies the whole chain.
   */
  readonly cache?: VerificationCache;
}

/**
 * Verifies evidence offline and against a policy. Never throws for bad evidence: it fails
 * closed, listing every problem found. Throws only `RangeError`/`TypeError` for bad options.
 */
export async function verifyEvidence(bundle: EvidenceBundle, options: VerifyEvidenceOptions = {}): Promise<VerificationResult> {
  const policy = options.policy ?? DEFAULT_POLICY;
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError("now must be a valid Date");
  const expected =
    options.expectedReportData ??
    (bundle.binding === undefined ? undefined : computeReportData(bundle.binding.spki, bundle.binding.nonce));
  if (expected !== undefined && expected.byteLength !== 64) {
    throw new RangeError(`expectedReportData must be 64 bytes, got ${expected.byteLength}`);
  }
  let cache: VerificationCacheImpl;
  if (options.cache === undefined) cache = noCache();
  else if (options.cache instanceof VerificationCacheImpl) cache = options.cache;
  else throw new TypeError("cache must come from createVerificationCache()");
  const result = verifyByPlatform(bundle, policy, expected, now, cache);
  if (bundle.platform !== "simulation" && !policy.platforms.includes(bundle.platform)) {
    return withProblem(result, "platform", `platform ${bundle.platform} is not allowed by the policy (it allows ${policy.platforms.join(", ") || "none"})`);
  }
  return result;
}

function verifyByPlatform(
  bundle: EvidenceBundle,
  policy: VerificationPolicy,
  expected: Uint8Array | undefined,
  now: Date,
  cache: VerificationCacheImpl,
): VerificationResult {
  switch (bundle.platform) {
    case "simulation":
      try {
        return verifySimulated(bundle, policy, expected);
      } catch (err) {
        const message = err instanceof AttestationError ? err.message : "simulated report is malformed";
        return { verified: false, platform: "simulation", reportData: "", tcb: {}, status: "failed", problems: [{ code: "malformed-evidence", message }] };
      }
    case "sev-snp":
      return verifySnp(bundle, policy, expected, now, cache);
    case "tdx":
      return verifyTdx(bundle, policy, expected, now, cache);
  }
}

function withProblem(result: VerificationResult, code: "platform", message: string): VerificationResult {
  return { ...result, verified: false, status: result.status === "ok" ? "failed" : result.status, problems: [...result.problems, { code, message }] };
}
