import { AttestationError } from "../attestation-error.js";
import type { AttestationProvider, ServerIdentity } from "../attestation-provider.js";
import type { EvidenceBundle } from "../evidence-bundle.js";
import { parseSnpReport } from "../sev-snp/snp-report.js";
import { parseTdxQuote } from "../tdx/tdx-quote.js";
import { loadAttestationCerts } from "./attestation-certs.js";
import { collectTsmReport } from "./configfs-tsm.js";
import { parseSnpCertTable } from "./snp-cert-table.js";
import type { TsmFileSystem } from "./tsm-file-system.js";

export interface ConfigfsProviderOptions {
  readonly platform: "sev-snp" | "tdx";
  readonly server: ServerIdentity;
  /** configfs-tsm report root. */
  readonly root: string;
  readonly fs: TsmFileSystem;
  /** `--attestation-certs DIR`: certificates (SNP) and collateral (TDX) served with the evidence. */
  readonly attestationCertsDir?: string;
}

/**
 * SEV-SNP or TDX evidence through configfs-tsm. SNP certificates come from the host's
 * certificate table (auxblob) when it has the VCEK/VLEK, else from the certificates directory;
 * TDX collateral always from the directory (the PCK chain is inside the quote). The report
 * data read back is compared with what was asked for, so a report generated for someone else
 * is never served.
 */
export function createConfigfsProvider(options: ConfigfsProviderOptions): AttestationProvider {
  const { platform, server, root, fs, attestationCertsDir } = options;
  return {
    platform,
    insecure: false,
    async getEvidence(reportData: Uint8Array): Promise<Omit<EvidenceBundle, "binding">> {
      if (!(reportData instanceof Uint8Array) || reportData.byteLength !== 64) {
        throw new RangeError(`reportData must be 64 bytes, got ${reportData instanceof Uint8Array ? reportData.byteLength : typeof reportData}`);
      }
      const report = await collectTsmReport({ root, fs, inblob: reportData });
      const expectedProvider = platform === "sev-snp" ? "sev_guest" : "tdx_guest";
      if (report.provider !== expectedProvider) {
        throw new AttestationError("collection-failed", `configfs-tsm provider changed to '${report.provider}' (expected ${expectedProvider})`);
      }
      const served = attestationCertsDir === undefined ? { certificates: [], hasSnpLeaf: false } : await loadAttestationCerts(attestationCertsDir);
      let actual: Uint8Array;
      let certificates: readonly Uint8Array[] = served.certificates;
      if (platform === "sev-snp") {
        actual = parseSnpReport(report.outblob).reportData;
        const table = parseSnpCertTable(report.auxblob ?? new Uint8Array(0));
        const fromHost = ["vcek", "vlek", "ask", "ark"].flatMap((role) => table.filter((e) => e.role === role).map((e) => Uint8Array.from(e.der)));
        if (table.some((e) => e.role === "vcek" || e.role === "vlek")) certificates = fromHost;
      } else {
        actual = parseTdxQuote(report.outblob).body.reportData;
        certificates = [];
      }
      if (!Buffer.from(actual).equals(reportData)) {
        throw new AttestationError("collection-failed", "the platform returned a report for different report data: another process raced this request");
      }
      return {
        platform,
        report: report.outblob,
        certificates,
        ...(platform === "tdx" && served.collateral !== undefined ? { collateral: served.collateral } : {}),
        serverVersion: server.serverVersion,
        configDigest: server.configDigest,
      };
    },
  };
}
