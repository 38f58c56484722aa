import { isPublicKeyId } from "@sanctum/protocol";
import { CliError } from "../cli-error.js";

/** Splits a comma-separated flag value, dropping blanks. */
export function splitList(text: string): string[] {
  return text.split(",").map((k) => k.trim()).filter((k) => k !== "");
}

/**
 * Parses a comma-separated list of public key ids (`--allow`, `--trainers`); undefined when the
 * flag is absent. A usage error (exit 2) names the flag and the first entry that is not a key.
 */
export function publicKeyList(flag: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const keys = splitList(text);
  if (keys.length === 0) throw new CliError(`${flag} needs at least one public key id, e.g. ${flag} ed25519:...,ed25519:...`, { exitCode: 2 });
  for (const key of keys) {
    if (!isPublicKeyId(key)) {
      throw new CliError(`${flag}: '${key.slice(0, 60)}' is not a public key id: expected 'ed25519:' and 43 base64url characters, as 'sanctum keygen' prints`, { exitCode: 2 });
    }
  }
  return keys;
}
