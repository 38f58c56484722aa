import type { PlatformName } from "./platform.js";

/**
 * Stable codes of {@link VerificationProblem}: callers may `switch` on them. Each names one
 * cause; the message says which certificate, field or value, and never contains evidence bytes.
 */
export type VerificationProblemCode =
  // any platform
  | "malformed-evidence"
  | "platform"
  | "report-data"
  | "measurement"
  | "debug"
  | "server-claims"
  | "simulation-refused"
  | "signature"
  // certificates (both vendors)
  | "certificate-missing"
  | "certificate-malformed"
  | "certificate-expired"
  | "certificate-not-yet-valid"
  | "certificate-chain"
  | "certificate-revoked"
  | "untrusted-root"
  // SEV-SNP
  | "report-unsigned"
  | "signing-key-mismatch"
  | "product-mismatch"
  | "certificate-extension"
  | "tcb-mismatch"
  | "chip-id-mismatch"
  | "tcb-below-minimum"
  | "vmpl"
  | "host-data"
  // TDX
  | "quote-format"
  | "qe-report-signature"
  | "qe-report-data"
  | "qe-identity"
  | "collateral-missing"
  | "collateral-malformed"
  | "collateral-signature"
  | "collateral-expired"
  | "collateral-not-yet-valid"
  | "crl-signature"
  | "fmspc-mismatch"
  | "tcb-level-not-found"
  | "tcb-status"
  | "tdx-module"
  | "mrtd"
  | "rtmr";

/** One reason evidence was not accepted. `code` is stable; `message` names the cause. */
export interface VerificationProblem {
  readonly code: VerificationProblemCode;
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
  /** The report data in the evidence (hex, 64 bytes); empty when the evidence could not be parsed. */
  readonly reportData: string;
  /** Platform TCB facts (SNP: reported_tcb components; TDX: SVNs and level). */
  readonly tcb: Readonly<Record<string, unknown>>;
  /** Platform status: "UpToDate", "OutOfDate", ... for TDX; "ok"/"failed" elsewhere; "insecure" for simulation. */
  readonly status: string;
  readonly problems: readonly VerificationProblem[];
  readonly serverVersion?: string;
  readonly configDigest?: string;
}
