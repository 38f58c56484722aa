import { writeFile } from "node:fs/promises";
import { encodeEvidenceBundle, type VerificationResult } from "@sanctum/attestation";
import { ClientError } from "@sanctum/client";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { addClientOptions, keyFingerprint, openClient, printJson, type ClientOptionValues } from "../client-options/client-options.js";

/** Registers `sanctum attest`: verifies a server and prints what runs there. */
export function registerAttest(program: Command): void {
  addClientOptions(
    program
      .command("attest")
      .description("verify a server's attestation and print its platform, measurement, version and key fingerprint (exit 0 only when trusted)")
      .option("--save <file>", "write the evidence bundle (with its binding to the server key and nonce) for offline checks"),
  ).action(async (options: ClientOptionValues & { save?: string }) => {
    let client;
    try {
      client = await openClient(options);
    } catch (err) {
      // Untrusted: still show what the evidence said and why it was refused, then fail.
      if (err instanceof ClientError && err.verification !== undefined) report(options, err.verification, undefined);
      throw err;
    }
    try {
      if (options.save !== undefined) {
        try {
          await writeFile(options.save, encodeEvidenceBundle(client.evidence));
        } catch (cause) {
          throw new CliError(`cannot write evidence to '${options.save}': ${(cause as NodeJS.ErrnoException).code ?? "error"}`, { cause });
        }
      }
      report(options, client.attestation, { url: client.url, spki: client.serverSpki, serverVersion: client.evidence.serverVersion, configDigest: client.evidence.configDigest });
    } finally {
      client.close();
    }
  });
}

interface Connection {
  readonly url: string;
  readonly spki: Uint8Array;
  readonly serverVersion: string;
  readonly configDigest: string;
}

function report(options: ClientOptionValues & { save?: string }, a: VerificationResult, c: Connection | undefined): void {
  const measurement = a.measurement ?? a.mrtd ?? "";
  const insecure = a.platform === "simulation";
  const serverVersion = a.serverVersion ?? c?.serverVersion ?? "";
  const configDigest = a.configDigest ?? c?.configDigest ?? "";
  if (options.json === true) {
    printJson({
      trusted: a.verified,
      ...(c === undefined ? {} : { server: c.url }),
      platform: a.platform,
      insecure,
      measurement,
      ...(a.rtmrs === undefined ? {} : { rtmrs: a.rtmrs }),
      serverVersion,
      configDigest,
      ...(c === undefined ? {} : { keyFingerprint: keyFingerprint(c.spki) }),
      status: a.status,
      tcb: a.tcb,
      problems: a.problems,
    });
    return;
  }
  const rows: [string, string][] = [];
  if (c !== undefined) rows.push(["server", c.url]);
  rows.push(
    ["platform", insecure ? "simulation (INSECURE: no hardware protection, development only)" : a.platform],
    ["measurement", measurement],
    ["version", serverVersion],
    ["config", configDigest],
  );
  if (c !== undefined) rows.push(["key", keyFingerprint(c.spki)]);
  rows.push(["status", a.status], ["trusted", a.verified ? "yes" : "no"]);
  for (const p of a.problems) rows.push(["problem", p.message]);
  if (c !== undefined && options.save !== undefined) rows.push(["saved", options.save]);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(12)} ${v}\n`);
}
