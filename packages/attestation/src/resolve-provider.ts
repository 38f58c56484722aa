import { AttestationError } from "./attestation-error.js";
import type { AttestationProvider, ServerIdentity } from "./attestation-provider.js";
import { createSimulationProvider } from "./simulation/simulation-provider.js";

export interface ResolveProviderOptions {
  /** `simulation`, or `auto`: SEV-SNP or TDX through configfs-tsm, refusing to start without it. */
  readonly platform: "simulation" | "auto";
  readonly server: ServerIdentity;
  /** Folder of certificates and collateral served with the evidence (`--attestation-certs`). */
  readonly attestationCertsDir?: string;
  /** Root of configfs-tsm reports; default `/sys/kernel/config/tsm/report` (tests use a fake tree). */
  readonly configfsRoot?: string;
}

/** Picks the attestation provider a server starts with. */
export async function resolveAttestationProvider(options: ResolveProviderOptions): Promise<AttestationProvider> {
  if (options.platform === "simulation") return createSimulationProvider(options.server);
  throw new AttestationError(
    "platform-unavailable",
    "no TEE attestation interface (configfs-tsm) found: run inside an SEV-SNP or TDX guest, or pass --platform simulation for development",
  );
}
