import type { EvidenceBundle } from "../evidence-bundle.js";
import type { VerificationCacheImpl } from "../verification-cache.js";
import type { VerificationPolicy } from "../verification-policy.js";
import type { VerificationResult } from "../verification-result.js";

export function verifyTdx(bundle: EvidenceBundle, _p: VerificationPolicy, _e: Uint8Array | undefined, _n: Date, _c: VerificationCacheImpl): VerificationResult {
  return { verified: false, platform: bundle.platform, reportData: "", tcb: {}, status: "failed", problems: [{ code: "malformed-evidence", message: "tdx verification is not built yet" }] };
}
