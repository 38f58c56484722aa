import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { AttestationError } from "../attestation-error.js";
import { certificatesFromFile, parseCertificate } from "../internal/certificate.js";

/** What `--attestation-certs DIR` provides. */
export interface AttestationCerts {
  /** DER certificates, leaf (VCEK/VLEK) first and self-signed roots last. */
  readonly certificates: readonly Uint8Array[];
  /** True when a VCEK or VLEK (CN SEV-VCEK / SEV-VLEK) is among them. */
  readonly hasSnpLeaf: boolean;
  /** TDX collateral JSON text (`tdx-collateral.json` or `collateral.json`), if present. */
  readonly collateral?: string;
}

const CERT_EXTENSIONS = [".der", ".pem", ".crt", ".cer"];
const COLLATERAL_FILES = ["tdx-collateral.json", "collateral.json"];

/**
 * Reads the certificates and collateral a server serves with its evidence, since a TEE may
 * have no network: every `*.der`, `*.pem`, `*.crt`, `*.cer` file (DER or PEM, a PEM may hold
 * several) and the TDX collateral file. Read at each request, so an operator can refresh the
 * monthly TDX collateral without a restart. Throws `collection-failed` naming a bad file.
 */
export async function loadAttestationCerts(dir: string): Promise<AttestationCerts> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (cause) {
    throw new AttestationError("collection-failed", `cannot read --attestation-certs directory '${dir}' (${(cause as NodeJS.ErrnoException).code ?? "error"})`, { cause });
  }
  const certificates: { der: Uint8Array; rank: number }[] = [];
  for (const name of names) {
    if (!CERT_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext))) continue;
    const path = join(dir, name);
    try {
      for (const der of certificatesFromFile(new Uint8Array(await readFile(path)), name)) {
        const cert = parseCertificate(der, name);
        const selfSigned = Buffer.from(cert.subject).equals(cert.issuer);
        const leaf = cert.subjectCommonName === "SEV-VCEK" || cert.subjectCommonName === "SEV-VLEK";
        certificates.push({ der, rank: leaf ? 0 : selfSigned ? 2 : 1 });
      }
    } catch (cause) {
      throw new AttestationError("collection-failed", `--attestation-certs: '${path}' is not a DER or PEM certificate file`, { cause });
    }
  }
  let collateral: string | undefined;
  for (const name of COLLATERAL_FILES) {
    if (!names.includes(name)) continue;
    collateral = await readFile(join(dir, name), "utf8");
    break;
  }
  return {
    certificates: certificates.sort((a, b) => a.rank - b.rank).map((c) => c.der),
    hasSnpLeaf: certificates.some((c) => c.rank === 0),
    ...(collateral === undefined ? {} : { collateral }),
  };
}
