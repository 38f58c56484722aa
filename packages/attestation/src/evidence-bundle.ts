import { AttestationError } from "./attestation-error.js";
import { isPlatformName, type PlatformName } from "./platform.js";

/**
 * Everything a verifier needs, offline: the platform's report or quote, the certificates
 * and collateral, and what the server says about itself. `sanctum attest --save` writes it.
 */
export interface EvidenceBundle {
  readonly platform: PlatformName;
  /** SEV-SNP report, TDX quote, or simulated report. */
  readonly report: Uint8Array;
  /** DER certificates (SEV-SNP: VCEK/VLEK, then ASK/ASVK, then ARK). */
  readonly certificates: readonly Uint8Array[];
  /** TDX collateral JSON, shaped like tdx-quote-v4-collateral.json. */
  readonly collateral?: string;
  readonly serverVersion: string;
  /** Hex SHA-256 of the server's configuration. */
  readonly configDigest: string;
  /** The server TLS key (SPKI DER) and client nonce the report data binds, when known. */
  readonly binding?: { readonly spki: Uint8Array; readonly nonce: Uint8Array };
}

/** The bundle's file form (JSON, base64 for bytes). */
export function encodeEvidenceBundle(bundle: EvidenceBundle): string {
  const json = {
    type: "sanctum-evidence",
    version: 1,
    platform: bundle.platform,
    report: b64(bundle.report),
    certificates: bundle.certificates.map(b64),
    ...(bundle.collateral === undefined ? {} : { collateral: bundle.collateral }),
    serverVersion: bundle.serverVersion,
    configDigest: bundle.configDigest,
    ...(bundle.binding === undefined
      ? {}
      : { binding: { spki: b64(bundle.binding.spki), nonce: b64(bundle.binding.nonce) } }),
  };
  return JSON.stringify(json, null, 2) + "\n";
}

/** Parses the bundle's file form; throws `malformed-bundle` naming the bad field. */
export function decodeEvidenceBundle(text: string): EvidenceBundle {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new AttestationError("malformed-bundle", "evidence bundle is not JSON", { cause });
  }
  const r = parsed as Record<string, unknown> | null;
  if (r === null || typeof r !== "object" || r["type"] !== "sanctum-evidence") {
    throw new AttestationError("malformed-bundle", "not a Sanctum evidence bundle (written by 'sanctum attest --save')");
  }
  const platform = r["platform"];
  if (typeof platform !== "string" || !isPlatformName(platform)) {
    throw new AttestationError("malformed-bundle", "evidence bundle: 'platform' must be simulation, sev-snp or tdx");
  }
  const certificates = r["certificates"];
  if (!Array.isArray(certificates)) throw bad("certificates");
  const binding = r["binding"] as Record<string, unknown> | undefined;
  return {
    platform,
    report: unb64(r["report"], "report"),
    certificates: certificates.map((c, i) => unb64(c, `certificates[${i}]`)),
    ...(typeof r["collateral"] === "string" ? { collateral: r["collateral"] } : {}),
    serverVersion: str(r["serverVersion"], "serverVersion"),
    configDigest: str(r["configDigest"], "configDigest"),
    ...(binding === undefined
      ? {}
      : { binding: { spki: unb64(binding["spki"], "binding.spki"), nonce: unb64(binding["nonce"], "binding.nonce") } }),
  };
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

function unb64(value: unknown, field: string): Uint8Array {
  if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw bad(field);
  return new Uint8Array(Buffer.from(value, "base64"));
}

function str(value: unknown, field: string): string {
  if (typeof value !== "string") throw bad(field);
  return value;
}

function bad(field: string): AttestationError {
  return new AttestationError("malformed-bundle", `evidence bundle: field '${field}' is missing or malformed`);
}
