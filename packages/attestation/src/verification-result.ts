import type { PlatformName } from "./platform.js";

/** One reason evidence was not accepted. `code` is stable; `message` names the cause. */
export interface VerificationProblem {
  readonly code: string;
  readonly message: string;
}

/**
 * The outcome of verifying evidence. `verified` is true only when `problems` is empty:
 * verification fails closed, and every cause found is listed, not just the first.
 */
export interface VerificationResult {
  readonly verified: boolean;
  readonly platform: PlatformName;
  /** SEV-SNP launch measurement or simulated measurement (hex). */
  readonly measurement?: string;
  /** TDX MRTD (hex). */
  readonly mrtd?: string;
  /** TDX RTMR0..3 (hex). */
  readonly rtmrs?: readonly string[];
  /** The report data in the evidence (hex, 64 bytes). */
  readonly reportData: string;
  /** Platform TCB facts (SNP: reported_tcb components; TDX: SVNs and level). */
  readonly tcb: Readonly<Record<string, unknown>>;
  /** Platform status: "UpToDate", "OutOfDate", ... for TDX; "ok"/"failed" elsewhere; "insecure" for simulation. */
  readonly status: string;
  readonly problems: readonly VerificationProblem[];
  readonly serverVersion?: string;
  readonly configDigest?: string;
}
