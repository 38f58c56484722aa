import { timingSafeEqual, verify } from "node:crypto";
import { AttestationError } from "../attestation-error.js";
import type { EvidenceBundle } from "../evidence-bundle.js";
import type { VerificationCacheImpl } from "../verification-cache.js";
import type { VerificationPolicy } from "../verification-policy.js";
import type { VerificationProblem, VerificationResult } from "../verification-result.js";
import { verifySnpChain } from "./snp-chain.js";
import { checkSnpExtensions, leafProduct } from "./snp-extensions.js";
import { parseSnpReport, SNP_POLICY_DEBUG, type SnpReport } from "./snp-report.js";
import { decodeSnpTcb, productFromCommonName, productFromCpuid, type SnpProduct, type SnpTcbParts } from "./snp-tcb.js";

/**
 * Verifies a SEV-SNP report offline: the chain to AMD's pinned ARK, the report signature, the
 * VCEK/VLEK extensions, then the policy. Every independent check runs even when an earlier one
 * failed, so the result names every cause (a mutated debug bit is reported as "debug" next to
 * the broken signature).
 */
export function verifySnp(
  bundle: EvidenceBundle,
  policy: VerificationPolicy,
  expectedReportData: Uint8Array | undefined,
  now: Date,
  cache: VerificationCacheImpl,
): VerificationResult {
  let report: SnpReport;
  try {
    report = parseSnpReport(bundle.report);
  } catch (err) {
    const message = err instanceof AttestationError ? err.message : "SEV-SNP report is malformed";
    return { verified: false, platform: "sev-snp", reportData: "", tcb: {}, status: "failed", problems: [{ code: "malformed-evidence", message }] };
  }
  const problems: VerificationProblem[] = [];
  const chain = verifySnpChain(bundle.certificates, report.signingKey, now, cache);
  problems.push(...chain.problems);

  // The product line decides the TCB layout: the report's CPUID (v3+) first, then the
  // certificate's product name, then the ARK the chain ends in; all that are known must agree.
  const named: [string, SnpProduct | undefined][] = [];
  const cpuidProduct = report.cpuid === undefined || (report.cpuid.family === 0 && report.cpuid.model === 0) ? undefined : productFromCpuid(report.cpuid.family, report.cpuid.model);
  if (report.cpuid !== undefined && cpuidProduct === undefined && report.cpuid.family !== 0) {
    problems.push({ code: "product-mismatch", message: `the report's CPU (family ${hexByte(report.cpuid.family)}, model ${hexByte(report.cpuid.model)}) is not a Milan, Genoa or Turin` });
  }
  if (cpuidProduct !== undefined) named.push(["the report's CPUID", cpuidProduct]);
  const leafName = chain.leaf === undefined ? undefined : leafProduct(chain.leaf);
  if (leafName !== undefined) named.push([`the certificate's product name '${leafName.name}'`, leafName.product]);
  if (chain.leaf !== undefined && leafName === undefined) {
    problems.push({ code: "certificate-extension", message: "the VCEK/VLEK has no valid productName extension (1.3.6.1.4.1.3704.1.2)" });
  }
  if (chain.product !== undefined) named.push([`the chain's ARK-${chain.product}`, chain.product]);
  const product = named.find(([, p]) => p !== undefined)?.[1] ?? (chain.leaf === undefined ? undefined : productFromCommonName(chain.leaf.issuerCommonName));
  for (const [source, p] of named) {
    if (p !== product) problems.push({ code: "product-mismatch", message: `${named[0]![0]} says ${product ?? "an unknown product"} but ${source} says ${p ?? "an unknown product"}` });
  }

  if (report.signingKey === "none" || report.maskChipKey) {
    problems.push({ code: "report-unsigned", message: "the report is not signed by a chip key (signing key 'none' or MASK_CHIP_KEY): it proves nothing" });
  } else if (report.signatureAlgorithm !== 1) {
    problems.push({ code: "signature", message: `the report's signature algorithm ${report.signatureAlgorithm} is not ECDSA P-384 with SHA-384 (1)` });
  } else if (chain.leaf !== undefined) {
    const key = chain.leaf.publicKey;
    const curve = key.asymmetricKeyType === "ec" ? key.asymmetricKeyDetails?.namedCurve : undefined;
    const signature = report.signature;
    let ok = false;
    if (curve === "secp384r1" && signature !== undefined) {
      ok = verify("sha384", report.signedBytes, { key, dsaEncoding: "ieee-p1363" }, Buffer.concat([signature.r, signature.s]));
    }
    if (!ok) {
      const keyName = report.signingKey === "vlek" ? "VLEK" : "VCEK";
      problems.push({ code: "signature", message: `the report's signature does not verify with the ${keyName}: the report was altered or signed by another key` });
    }
  }
  if (chain.leaf !== undefined && product !== undefined) problems.push(...checkSnpExtensions(chain.leaf, report, product));

  const tcb = decodeSnpTcb(report.reportedTcb, product ?? "Milan");
  problems.push(...checkSnpPolicy(report, tcb, policy, expectedReportData));

  return {
    verified: problems.length === 0,
    platform: "sev-snp",
    measurement: hex(report.measurement),
    reportData: hex(report.reportData),
    tcb: {
      ...tcb,
      reportedTcb: hex(report.reportedTcb),
      ...(product === undefined ? {} : { product }),
      signingKey: report.signingKey,
      reportVersion: report.version,
      vmpl: report.vmpl,
      guestPolicy: "0x" + report.policy.toString(16),
      hostData: hex(report.hostData),
      chipId: hex(report.chipId),
    },
    status: problems.length === 0 ? "ok" : "failed",
    problems,
    serverVersion: bundle.serverVersion,
    configDigest: bundle.configDigest,
  };
}

/** The policy checks: debug (always refused), VMPL, minimum TCB, measurement, host_data, report data. */
function checkSnpPolicy(report: SnpReport, tcb: SnpTcbParts, policy: VerificationPolicy, expected: Uint8Array | undefined): VerificationProblem[] {
  const problems: VerificationProblem[] = [];
  if ((report.policy & SNP_POLICY_DEBUG) !== 0n) {
    problems.push({ code: "debug", message: "the guest policy allows debugging (policy bit 19): the hypervisor can read the guest's memory" });
  }
  if (report.vmpl > policy.sevSnp.maxVmpl) {
    problems.push({ code: "vmpl", message: `the report was requested at VMPL ${report.vmpl}, above the policy's maximum ${policy.sevSnp.maxVmpl}` });
  }
  for (const [name, minimum] of Object.entries(policy.sevSnp.minimumTcb)) {
    const actual = (tcb as unknown as Record<string, number | undefined>)[name];
    // fmc exists on Turin only; a minimum for it does not apply to older product lines.
    if (name === "fmc" && actual === undefined) continue;
    if (minimum !== undefined && (actual === undefined || actual < minimum)) {
      problems.push({ code: "tcb-below-minimum", message: `the reported ${name} SPL is ${actual ?? "absent"}, below the policy's minimum ${minimum}` });
    }
  }
  const measurement = hex(report.measurement);
  if (policy.sevSnp.measurements.length > 0 && !policy.sevSnp.measurements.includes(measurement)) {
    problems.push({ code: "measurement", message: `the launch measurement ${measurement} is not one the policy accepts` });
  }
  const hostData = hex(report.hostData);
  if (policy.sevSnp.hostData.length > 0 && !policy.sevSnp.hostData.includes(hostData)) {
    problems.push({ code: "host-data", message: `host_data ${hostData} is not one the policy accepts` });
  }
  if (expected !== undefined && (expected.byteLength !== 64 || !timingSafeEqual(report.reportData, expected))) {
    problems.push({ code: "report-data", message: "the report data does not bind this connection's server key and nonce (or the expected value): possible replay or man in the middle" });
  }
  return problems;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function hexByte(value: number): string {
  return value.toString(16).padStart(2, "0") + "h";
}
