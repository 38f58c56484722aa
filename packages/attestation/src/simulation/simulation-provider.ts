import { createHash, generateKeyPairSync, sign } from "node:crypto";
import type { AttestationProvider, ServerIdentity } from "../attestation-provider.js";
import { encodeSimulatedReport, type SimulatedReportBody } from "./simulated-report.js";

/**
 * The development platform: reports signed by a key made in memory at start. Clients refuse
 * it unless the user allows simulation, and the server says it is insecure everywhere.
 */
export function createSimulationProvider(server: ServerIdentity): AttestationProvider {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const signingKey = publicKey.export({ type: "spki", format: "der" }).toString("base64");
  const measurement = simulatedMeasurement(server.serverVersion);
  return {
    platform: "simulation",
    insecure: true,
    async getEvidence(reportData) {
      if (reportData.byteLength !== 64) throw new RangeError(`reportData must be 64 bytes, got ${reportData.byteLength}`);
      const body: SimulatedReportBody = {
        type: "sanctum-simulated-report",
        reportData: Buffer.from(reportData).toString("hex"),
        measurement,
        serverVersion: server.serverVersion,
        configDigest: server.configDigest,
        signingKey,
      };
      const bodyBytes = Buffer.from(JSON.stringify(body), "utf8");
      const signature = sign(null, bodyBytes, privateKey);
      return {
        platform: "simulation",
        report: encodeSimulatedReport(bodyBytes, signature),
        certificates: [],
        serverVersion: server.serverVersion,
        configDigest: server.configDigest,
      };
    },
  };
}

/** The stand-in measurement of a simulated server: SHA-384 of its version string. */
export function simulatedMeasurement(serverVersion: string): string {
  return createHash("sha384").update("sanctum-simulation:" + serverVersion).digest("hex");
}
