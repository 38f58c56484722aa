import { generateIdentity } from "@sanctum/protocol";
import type { Command } from "commander";
import { printJson } from "../client-options/client-options.js";
import { identityPath, writeIdentity } from "../client-options/identity-file.js";

/** Registers `sanctum keygen`: makes an Ed25519 identity and prints its public key id. */
export function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description("make your identity (an Ed25519 key pair, mode 0600) and print its public key id, the string others pass to --allow")
    .option("--out <file>", "where to write it (env SANCTUM_IDENTITY; default ~/.sanctum/identity.key)")
    .option("--force", "replace an existing identity file (the old key loses access to what it owns)")
    .option("--json", 'print {"publicKey": "..."}')
    .action(async (options: { out?: string; force?: boolean; json?: boolean }) => {
      const path = identityPath(options.out);
      const identity = generateIdentity();
      await writeIdentity(path, identity, { force: options.force === true });
      if (options.json === true) printJson({ publicKey: identity.publicKey });
      else {
        process.stdout.write(`${identity.publicKey}\n`);
        process.stderr.write(`wrote identity to ${path} (mode 0600); give the public key above to model owners\n`);
      }
    });
}
