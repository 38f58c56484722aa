import type { EvidenceBundle } from "./evidence-bundle.js";
import { computeReportData } from "./report-data.js";
import { verifySimulated } from "./simulation/verify-simulated.js";
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
}

/** Verifies evidence offline and against a policy. Never throws for bad evidence: it fails closed with problems. */
export async function verifyEvidence(bundle: EvidenceBundle, options: VerifyEvidenceOptions = {}): Promise<VerificationResult> {
  const policy = options.policy ?? DEFAULT_POLICY;
  const expected =
    options.expectedReportData ??
    (bundle.binding === undefined ? undefined : computeReportData(bundle.binding.spki, bundle.binding.nonce));
  const result = await verifyByPlatform(bundle, policy, expected, options.now ?? new Date());
  if (bundle.platform !== "simulation" && !policy.platforms.includes(bundle.platform)) {
    return withProblem(result, "platform", `platform ${bundle.platform} is not allowed by the policy`);
  }
  return result;
}

async function verifyByPlatform(
  bundle: EvidenceBundle,
  policy: VerificationPolicy,
  expected: Uint8Array | undefined,
  _now: Date,
): Promise<VerificationResult> {
  switch (bundle.platform) {
    case "simulation":
      return verifySimulated(bundle, policy, expected);
    case "sev-snp":
    case "tdx":
      return {
        verified: false,
        platform: bundle.platform,
        reportData: "",
        tcb: {},
        status: "failed",
        problems: [{ code: "unsupported-platform", message: `${bundle.platform} verification is not built yet` }],
      };
  }
}

function withProblem(result: VerificationResult, code: string, message: string): VerificationResult {
  return { ...result, verified: false, problems: [...result.problems, { code, message }] };
}
