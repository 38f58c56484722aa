import { readFile } from "node:fs/promises";
import { parseVerificationPolicy, type VerificationPolicy } from "@sanctum/attestation";
import { connect, spkiFingerprint, type SanctumClient } from "@sanctum/client";
import type { Identity } from "@sanctum/protocol";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { identityPath, loadOrCreateIdentity } from "./identity-file.js";

/** The server a client command talks to when neither --server nor SANCTUM_SERVER is given. */
export const DEFAULT_SERVER_URL = "https://127.0.0.1:9443";

/** The options every client command takes, as commander parses them. */
export interface ClientOptionValues {
  readonly server?: string;
  readonly identity?: string;
  readonly allowSimulation?: boolean;
  readonly policy?: string;
  readonly json?: boolean;
}

/** Adds --server, --identity, --allow-simulation, --policy and --json to a command. */
export function addClientOptions(command: Command): Command {
  return command
    .option("--server <url>", `server URL (env SANCTUM_SERVER; default ${DEFAULT_SERVER_URL})`)
    .option("--identity <file>", "identity file (env SANCTUM_IDENTITY; default ~/.sanctum/identity.key, created if missing)")
    .option("--allow-simulation", "accept a server on the insecure simulation platform, for development (env SANCTUM_ALLOW_SIMULATION=1)")
    .option("--policy <file>", "verification policy JSON (env SANCTUM_POLICY; default: SEV-SNP or TDX, any measurement)")
    .option("--json", "print machine-readable JSON on stdout");
}

/** `--allow-simulation`, or SANCTUM_ALLOW_SIMULATION set to 1 or true. */
export function allowSimulationOf(values: { readonly allowSimulation?: boolean }): boolean {
  const env = process.env["SANCTUM_ALLOW_SIMULATION"];
  return values.allowSimulation === true || env === "1" || env === "true";
}

/** Reads `--policy` or SANCTUM_POLICY, if any. */
export async function policyOf(values: { readonly policy?: string }): Promise<VerificationPolicy | undefined> {
  const path = values.policy ?? process.env["SANCTUM_POLICY"];
  if (path === undefined || path === "") return undefined;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new CliError(`cannot read verification policy '${path}': ${(cause as NodeJS.ErrnoException).code ?? "error"}; check --policy or SANCTUM_POLICY`, { cause });
  }
  try {
    return parseVerificationPolicy(text);
  } catch (cause) {
    throw new CliError(`${(cause as Error).message} (in '${path}'); see docs/verify-a-server.md for the format`, { cause });
  }
}

/** The identity of a client command (created on first use). */
export async function identityOf(values: ClientOptionValues): Promise<Identity> {
  const path = identityPath(values.identity);
  const { identity, created } = await loadOrCreateIdentity(path);
  if (created) process.stderr.write(`note: created a new identity in ${path} (public key ${identity.publicKey})\n`);
  return identity;
}

/**
 * Connects and attests as the options say. Warns on stderr when the server is on the
 * simulation platform, so nobody mistakes a development server for a protected one.
 */
export async function openClient(values: ClientOptionValues): Promise<SanctumClient> {
  const url = values.server ?? process.env["SANCTUM_SERVER"] ?? DEFAULT_SERVER_URL;
  const identity = await identityOf(values);
  const policy = await policyOf(values);
  const client = await connect(url, { identity, allowSimulation: allowSimulationOf(values), ...(policy === undefined ? {} : { policy }) });
  if (client.attestation.platform === "simulation") {
    process.stderr.write(
      `warning: ${client.url} runs on the simulation platform: no hardware protection, its operator can read everything (development only)\n`,
    );
  }
  return client;
}

/** Runs `work` with an attested client and closes it afterwards, whatever happens. */
export async function withClient<T>(values: ClientOptionValues, work: (client: SanctumClient) => Promise<T>): Promise<T> {
  const client = await openClient(values);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

/** Writes one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** The fingerprint users compare: `sha256:` and the hex SHA-256 of the SPKI. */
export function keyFingerprint(spki: Uint8Array): string {
  return `sha256:${spkiFingerprint(spki)}`;
}
