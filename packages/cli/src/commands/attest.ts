import { writeFile } from "node:fs/promises";
import { encodeEvidenceBundle } from "@sanctum/attestation";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { addClientOptions, keyFingerprint, printJson, withClient, type ClientOptionValues } from "../client-options/client-options.js";

/** Registers `sanctum attest`: verifies a server and prints what runs there. */
export function registerAttest(program: Command): void {
  addClientOptions(
    program
      .command("attest")
      .description("verify a server's attestation and print its platform, measurement, version and key fingerprint (exit 0 only when trusted)")
      .option("--save <file>", "write the evidence bundle (with its binding to the server key and nonce) for offline checks"),
  ).action(async (options: ClientOptionValues & { save?: string }) => {
    await withClient(options, async (client) => {
      const a = client.attestation;
      if (options.save !== undefined) {
        try {
          await writeFile(options.save, encodeEvidenceBundle(client.evidence));
        } catch (cause) {
          throw new CliError(`cannot write evidence to '${options.save}': ${(cause as NodeJS.ErrnoException).code ?? "error"}`, { cause });
        }
      }
      const measurement = a.measurement ?? a.mrtd ?? "";
      const insecure = a.platform === "simulation";
      if (options.json === true) {
        printJson({
          trusted: a.verified,
          server: client.url,
          platform: a.platform,
          insecure,
          measurement,
          ...(a.rtmrs === undefined ? {} : { rtmrs: a.rtmrs }),
          serverVersion: a.serverVersion ?? client.evidence.serverVersion,
          configDigest: a.configDigest ?? client.evidence.configDigest,
          keyFingerprint: keyFingerprint(client.serverSpki),
          status: a.status,
          tcb: a.tcb,
        });
        return;
      }
      const rows: [string, string][] = [
        ["server", client.url],
        ["platform", insecure ? "simulation (INSECURE: no hardware protection, development only)" : a.platform],
        ["measurement", measurement],
        ["version", a.serverVersion ?? client.evidence.serverVersion],
        ["config", a.configDigest ?? client.evidence.configDigest],
        ["key", keyFingerprint(client.serverSpki)],
        ["status", a.status],
        ["trusted", a.verified ? "yes" : "no"],
      ];
      if (options.save !== undefined) rows.push(["saved", options.save]);
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(12)} ${v}\n`);
    });
  });
}
