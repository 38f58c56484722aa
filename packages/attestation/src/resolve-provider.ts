import { AttestationError } from "./attestation-error.js";
import type { AttestationProvider, ServerIdentity } from "./attestation-provider.js";
import { loadAttestationCerts } from "./configfs/attestation-certs.js";
import { createConfigfsProvider } from "./configfs/configfs-provider.js";
import { collectTsmReport, DEFAULT_CONFIGFS_TSM_ROOT, readTsmProvider } from "./configfs/configfs-tsm.js";
import { parseSnpCertTable } from "./configfs/snp-cert-table.js";
import { NODE_TSM_FILE_SYSTEM, type TsmFileSystem } from "./configfs/tsm-file-system.js";
import { createSimulationProvider } from "./simulation/simulation-provider.js";

export interface ResolveProviderOptions {
  /**
   * `simulation`; `auto`: SEV-SNP or TDX as configfs-tsm reports, refusing to start without it;
   * `sev-snp` or `tdx`: that platform, refusing to start on anything else.
   */
  readonly platform: "simulation" | "auto" | "sev-snp" | "tdx";
  readonly server: ServerIdentity;
  /** Folder of certificates and collateral served with the evidence (`--attestation-certs`). */
  readonly attestationCertsDir?: string;
  /** Root of configfs-tsm reports; default `/sys/kernel/config/tsm/report` (tests use a fake tree). */
  readonly configfsRoot?: string;
  /** File operations on configfs; default node:fs (tests pass a fake kernel). */
  readonly configfs?: TsmFileSystem;
}

const PROVIDERS: Readonly<Record<string, "sev-snp" | "tdx">> = { sev_guest: "sev-snp", tdx_guest: "tdx" };

/**
 * Picks the attestation provider a server starts with. For hardware platforms it checks, before
 * the server listens, that evidence can be collected and verified by an offline client: SEV-SNP
 * needs the VCEK/VLEK (from the host's certificate table or `--attestation-certs`), TDX needs
 * the collateral file in `--attestation-certs`. Throws `platform-unavailable` otherwise.
 */
export async function resolveAttestationProvider(options: ResolveProviderOptions): Promise<AttestationProvider> {
  if (options.platform === "simulation") return createSimulationProvider(options.server);
  const root = options.configfsRoot ?? DEFAULT_CONFIGFS_TSM_ROOT;
  const fs = options.configfs ?? NODE_TSM_FILE_SYSTEM;
  if (!(await fs.isDirectory(root))) {
    throw new AttestationError(
      "platform-unavailable",
      `no TEE attestation interface (configfs-tsm at ${root}) found: run inside an SEV-SNP or TDX guest (Linux 6.7+), or pass --platform simulation for development`,
    );
  }
  const provider = await readTsmProvider(root, fs);
  const platform = PROVIDERS[provider];
  if (platform === undefined) {
    throw new AttestationError("platform-unavailable", `configfs-tsm provider '${provider}' is neither SEV-SNP (sev_guest) nor TDX (tdx_guest); pass --platform simulation for development`);
  }
  if (options.platform !== "auto" && options.platform !== platform) {
    throw new AttestationError("platform-unavailable", `--platform ${options.platform} was asked for but this guest is ${platform} (configfs-tsm provider ${provider})`);
  }
  const served = options.attestationCertsDir === undefined ? undefined : await loadAttestationCerts(options.attestationCertsDir);
  if (platform === "tdx" && served?.collateral === undefined) {
    throw new AttestationError(
      "platform-unavailable",
      "TDX evidence needs Intel collateral for offline verification: put tdx-collateral.json (from Intel PCS or a PCCS) in the --attestation-certs directory",
    );
  }
  if (platform === "sev-snp") {
    if (served?.hasSnpLeaf !== true) {
      // No VCEK/VLEK on disk: a probe report shows whether the host supplies one in the auxblob.
      const probe = await collectTsmReport({ root, fs, inblob: new Uint8Array(64) });
      const table = parseSnpCertTable(probe.auxblob ?? new Uint8Array(0));
      if (!table.some((e) => e.role === "vcek" || e.role === "vlek")) {
        throw new AttestationError(
          "platform-unavailable",
          "SEV-SNP evidence needs the chip's VCEK (or VLEK) certificate and the host supplies none: put it (from AMD KDS) in the --attestation-certs directory",
        );
      }
    }
  }
  return createConfigfsProvider({
    platform,
    server: options.server,
    root,
    fs,
    ...(options.attestationCertsDir === undefined ? {} : { attestationCertsDir: options.attestationCertsDir }),
  });
}
