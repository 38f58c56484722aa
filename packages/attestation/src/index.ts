/**
 * @sanctum/attestation: evidence formats (simulation, SEV-SNP, TDX), their offline
 * verification against pinned vendor roots, verification policies, and the providers a
 * server uses to collect evidence.
 */
export { AttestationError } from "./attestation-error.js";
export type { AttestationErrorCode } from "./attestation-error.js";
export { PLATFORMS, isPlatformName } from "./platform.js";
export type { PlatformName } from "./platform.js";
export { computeReportData } from "./report-data.js";
export { encodeEvidenceBundle, decodeEvidenceBundle } from "./evidence-bundle.js";
export type { EvidenceBundle } from "./evidence-bundle.js";
export type { AttestationProvider, ServerIdentity } from "./attestation-provider.js";
export { createSimulationProvider, simulatedMeasurement } from "./simulation/simulation-provider.js";
export { DEFAULT_POLICY, parseVerificationPolicy } from "./verification-policy.js";
export type { VerificationPolicy, SnpTcb } from "./verification-policy.js";
export { verifyEvidence } from "./verify-evidence.js";
export type { VerifyEvidenceOptions } from "./verify-evidence.js";
export type { VerificationResult, VerificationProblem, VerificationProblemCode } from "./verification-result.js";
export { createVerificationCache } from "./verification-cache.js";
export type { VerificationCache, VerificationCacheOptions } from "./verification-cache.js";
export { parseSnpReport } from "./sev-snp/snp-report.js";
export type { SnpReport, SnpSigningKey } from "./sev-snp/snp-report.js";
export type { SnpProduct, SnpTcbParts } from "./sev-snp/snp-tcb.js";
export { AMD_ROOTS } from "./sev-snp/amd-roots.js";
export type { AmdProductRoots } from "./sev-snp/amd-roots.js";
export { parseTdxQuote } from "./tdx/tdx-quote.js";
export type { TdxQuote, TdReportBody } from "./tdx/tdx-quote.js";
export { parseTdxCollateral } from "./tdx/tdx-collateral.js";
export type { TdxCollateral } from "./tdx/tdx-collateral.js";
export { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from "./tdx/intel-root.js";
export { resolveAttestationProvider } from "./resolve-provider.js";
export type { ResolveProviderOptions } from "./resolve-provider.js";
export type { TsmFileSystem } from "./configfs/tsm-file-system.js";
export { parseSnpCertTable, encodeSnpCertTable, SNP_CERT_GUIDS } from "./configfs/snp-cert-table.js";
export type { SnpCertEntry, SnpCertRole } from "./configfs/snp-cert-table.js";
