import { readFile } from "node:fs/promises";
import {
  decodeEvidenceBundle,
  DEFAULT_POLICY,
  parseVerificationPolicy,
  verifyEvidence,
  type EvidenceBundle,
  type VerificationPolicy,
  type VerificationResult,
} from "@sanctum/attestation";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { printJson } from "../client-options/client-options.js";

interface VerifyEvidenceValues {
  readonly platform?: string;
  readonly certs: readonly string[];
  readonly collateral?: string;
  readonly at?: string;
  readonly policy?: string;
  readonly reportData?: string;
  readonly allowSimulation?: boolean;
  readonly json?: boolean;
}

/** Registers `sanctum verify-evidence`: offline verification of a report, quote or saved bundle. */
export function registerVerifyEvidence(program: Command): void {
  program
    .command("verify-evidence")
    .description(
      "verify SEV-SNP or TDX evidence offline against the pinned AMD/Intel roots and a policy (exit 0 only when verified). " +
        "Raw evidence with no --policy is checked against a policy that accepts the given platform with no measurement " +
        "constraints (debug is always refused; TDX accepts TCB status UpToDate only).",
    )
    .argument("<file>", "a raw SEV-SNP report or TDX quote, or a bundle written by 'sanctum attest --save'")
    .option("--platform <name>", "sev-snp or tdx (required for raw evidence; for a bundle it must match the bundle's)")
    .option("--certs <file>", "SEV-SNP certificates, DER or PEM (a PEM may hold several: ASK then ARK); repeatable; replaces a bundle's", collect, [] as string[])
    .option("--collateral <file>", "TDX collateral JSON (shaped like tdx-quote-v4-collateral.json); replaces a bundle's")
    .option("--at <iso8601>", "check every validity window at this time instead of now (e.g. 2025-07-01T00:00:00Z)")
    .option("--policy <file>", "verification policy JSON (see docs/verify-a-server.md)")
    .option("--report-data <hex>", "report data the evidence must carry (up to 64 bytes; shorter values are zero-padded, as the hardware pads them)")
    .option("--allow-simulation", "accept a bundle from the insecure simulation platform (development only)")
    .option("--json", 'print {"verified","platform","measurement"|"mrtd","rtmrs","reportData","tcb","status","problems"} on stdout')
    .action(async (file: string, options: VerifyEvidenceValues) => {
      const platform = options.platform;
      if (platform !== undefined && platform !== "sev-snp" && platform !== "tdx") {
        throw new CliError(`--platform must be sev-snp or tdx, got '${platform}'`, { exitCode: 2 });
      }
      const now = parseAt(options.at);
      const expectedReportData = options.reportData === undefined ? undefined : parseReportData(options.reportData);
      const bytes = await readInput(file, "evidence");
      let bundle = asBundle(bytes, file);
      const raw = bundle === undefined;
      if (bundle === undefined) {
        if (platform === undefined) throw new CliError(`'${file}' is raw evidence: say which with --platform sev-snp or --platform tdx`, { exitCode: 2 });
        bundle = { platform, report: bytes, certificates: [], serverVersion: "", configDigest: "" };
      } else if (platform !== undefined && platform !== bundle.platform) {
        throw new CliError(`'${file}' holds ${bundle.platform} evidence but --platform says ${platform}`, { exitCode: 2 });
      }
      if (options.certs.length > 0) {
        const certificates: Uint8Array[] = [];
        for (const path of options.certs) certificates.push(...certificatesOf(await readInput(path, "--certs"), path));
        bundle = { ...bundle, certificates };
      }
      if (options.collateral !== undefined) {
        bundle = { ...bundle, collateral: Buffer.from(await readInput(options.collateral, "--collateral")).toString("utf8") };
      }
      const policy = await policyFor(options, bundle, raw);
      const result = await verifyEvidence(bundle, { policy, now, ...(expectedReportData === undefined ? {} : { expectedReportData }) });
      if (options.json === true) printJson(toJson(result));
      else printHuman(result, now);
      if (!result.verified) {
        throw new CliError(`evidence does not verify: ${result.problems.map((p) => `${p.code}: ${p.message}`).join("; ")}`);
      }
    });
}

/** The contract's JSON: exactly these keys, measurement for SNP and simulation, MRTD and RTMRs for TDX. */
function toJson(result: VerificationResult): Record<string, unknown> {
  return {
    verified: result.verified,
    platform: result.platform,
    ...(result.platform === "tdx" ? { mrtd: result.mrtd ?? "", rtmrs: result.rtmrs ?? [] } : { measurement: result.measurement ?? "" }),
    reportData: result.reportData,
    tcb: result.tcb,
    status: result.status,
    problems: result.problems.map((p) => ({ code: p.code, message: p.message })),
  };
}

function printHuman(result: VerificationResult, now: Date): void {
  const rows: [string, string][] = [["platform", result.platform]];
  if (result.measurement !== undefined) rows.push(["measurement", result.measurement]);
  if (result.mrtd !== undefined) rows.push(["mrtd", result.mrtd]);
  result.rtmrs?.forEach((r, i) => rows.push([`rtmr${i}`, r]));
  rows.push(["report data", result.reportData], ["status", result.status], ["checked at", now.toISOString()], ["verified", result.verified ? "yes" : "NO"]);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(12)} ${v}\n`);
  for (const p of result.problems) process.stdout.write(`problem      ${p.code}: ${p.message}\n`);
}

async function policyFor(options: VerifyEvidenceValues, bundle: EvidenceBundle, raw: boolean): Promise<VerificationPolicy> {
  let policy: VerificationPolicy;
  if (options.policy !== undefined) {
    const text = Buffer.from(await readInput(options.policy, "--policy")).toString("utf8");
    try {
      policy = parseVerificationPolicy(text);
    } catch (cause) {
      throw new CliError(`${(cause as Error).message} (in '${options.policy}'); see docs/verify-a-server.md for the format`, { cause, exitCode: 2 });
    }
  } else {
    // No policy: accept the platform the user named (or the bundle's hardware platform), any measurement.
    policy = raw && bundle.platform !== "simulation" ? { ...DEFAULT_POLICY, platforms: [bundle.platform] } : DEFAULT_POLICY;
  }
  return options.allowSimulation === true ? { ...policy, allowSimulation: true } : policy;
}

/** A bundle if the file is one; undefined for raw evidence. */
function asBundle(bytes: Uint8Array, file: string): EvidenceBundle | undefined {
  const head = Buffer.from(bytes.subarray(0, 64)).toString("latin1").trimStart();
  if (!head.startsWith("{")) return undefined;
  try {
    return decodeEvidenceBundle(Buffer.from(bytes).toString("utf8"));
  } catch (cause) {
    throw new CliError(`'${file}' looks like JSON but is not an evidence bundle: ${(cause as Error).message}`, { cause, exitCode: 2 });
  }
}

/** DER (one certificate) or PEM (one or more, in order). */
function certificatesOf(bytes: Uint8Array, path: string): Uint8Array[] {
  const text = Buffer.from(bytes).toString("latin1");
  if (!text.includes("-----BEGIN")) return [bytes];
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new CliError(`--certs: '${path}' is PEM but holds no CERTIFICATE block`, { exitCode: 2 });
  return blocks.map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")));
}

function parseAt(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const ms = Date.parse(at);
  if (!/^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d))?$/.test(at) || Number.isNaN(ms)) {
    throw new CliError(`--at must be an ISO 8601 time such as 2025-07-01T00:00:00Z, got '${at}'`, { exitCode: 2 });
  }
  return new Date(ms);
}

function parseReportData(value: string): Uint8Array {
  const hex = value.startsWith("0x") ? value.slice(2) : value;
  if (hex.length === 0 || hex.length > 128 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new CliError("--report-data must be 1 to 64 bytes of hex (an even number of hex digits)", { exitCode: 2 });
  }
  const out = new Uint8Array(64);
  out.set(Buffer.from(hex, "hex"));
  return out;
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new CliError(`cannot read ${what} '${path}': ${(cause as NodeJS.ErrnoException).code ?? "error"}`, { cause, exitCode: 2 });
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
