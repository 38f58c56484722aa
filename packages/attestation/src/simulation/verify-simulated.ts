import { createPublicKey, timingSafeEqual, verify } from "node:crypto";
import type { EvidenceBundle } from "../evidence-bundle.js";
import type { VerificationPolicy } from "../verification-policy.js";
import type { VerificationProblem, VerificationResult } from "../verification-result.js";
import { parseSimulatedReport } from "./simulated-report.js";

/**
 * Checks a simulated report's self-signature and bindings. Even when everything holds, the
 * result is verified only if the policy allows simulation: the key is rooted in nothing.
 */
export function verifySimulated(
  bundle: EvidenceBundle,
  policy: VerificationPolicy,
  expectedReportData: Uint8Array | undefined,
): VerificationResult {
  const problems: VerificationProblem[] = [];
  const report = parseSimulatedReport(bundle.report);
  try {
    const key = createPublicKey({ key: Buffer.from(report.body.signingKey, "base64"), format: "der", type: "spki" });
    if (!verify(null, report.signedBytes, key, report.signature)) {
      problems.push({ code: "signature", message: "simulated report signature does not verify: the report was altered" });
    }
  } catch {
    problems.push({ code: "signature", message: "simulated report signing key is not a valid Ed25519 key" });
  }
  if (!policy.allowSimulation) {
    problems.push({
      code: "simulation-refused",
      message: "server runs on the insecure simulation platform: pass --allow-simulation only for development",
    });
  }
  if (policy.simulation.measurements.length > 0 && !policy.simulation.measurements.includes(report.body.measurement)) {
    problems.push({ code: "measurement", message: "simulated measurement is not one the policy accepts" });
  }
  if (report.body.serverVersion !== bundle.serverVersion || report.body.configDigest !== bundle.configDigest) {
    problems.push({ code: "server-claims", message: "server version or configuration digest differ from what the report signs" });
  }
  if (expectedReportData !== undefined) {
    const actual = Buffer.from(report.body.reportData, "hex");
    if (actual.length !== expectedReportData.byteLength || !timingSafeEqual(actual, expectedReportData)) {
      problems.push({
        code: "report-data",
        message: "report data does not bind this connection's server key and nonce: possible man in the middle",
      });
    }
  }
  return {
    verified: problems.length === 0,
    platform: "simulation",
    measurement: report.body.measurement,
    reportData: report.body.reportData,
    tcb: {},
    status: "insecure",
    problems,
    serverVersion: report.body.serverVersion,
    configDigest: report.body.configDigest,
  };
}
