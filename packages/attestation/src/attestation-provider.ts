import type { EvidenceBundle } from "./evidence-bundle.js";
import type { PlatformName } from "./platform.js";

/**
 * The server side of attestation: produces evidence over 64 bytes of report data.
 * One implementation per platform (simulation, SEV-SNP and TDX through configfs-tsm).
 */
export interface AttestationProvider {
  readonly platform: PlatformName;
  /** True when the platform gives no hardware protection. */
  readonly insecure: boolean;
  /** Evidence whose report data is exactly `reportData` (64 bytes). */
  getEvidence(reportData: Uint8Array): Promise<Omit<EvidenceBundle, "binding">>;
}

/** What every provider is told about the server it attests. */
export interface ServerIdentity {
  readonly serverVersion: string;
  /** Hex SHA-256 of the server's configuration. */
  readonly configDigest: string;
}
