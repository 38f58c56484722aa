import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { decodeIdentityFile, encodeIdentityFile, generateIdentity, type Identity } from "@sanctum/protocol";
import { CliError } from "../cli-error.js";

/** `--identity`, else `SANCTUM_IDENTITY`, else `~/.sanctum/identity.key`. */
export function identityPath(option: string | undefined): string {
  return option ?? process.env["SANCTUM_IDENTITY"] ?? join(homedir(), ".sanctum", "identity.key");
}

/**
 * Reads an identity file; throws a CliError that says how to make one. Refuses, as OpenSSH
 * does for private keys, a file that other users may read: whoever reads it acts as you.
 */
export async function readIdentity(path: string): Promise<Identity> {
  let text: string;
  let mode: number;
  try {
    // Mode and content from one open file, so the checked file is the one read.
    const file = await open(path, "r");
    try {
      mode = (await file.stat()).mode & 0o777;
      text = await file.readFile("utf8");
    } finally {
      await file.close();
    }
  } catch (cause) {
    throw new CliError(`cannot read identity file '${path}': ${(cause as NodeJS.ErrnoException).code ?? "error"}; make one with 'sanctum keygen --out ${path}'`, { cause });
  }
  let identity: Identity;
  try {
    identity = decodeIdentityFile(text);
  } catch (cause) {
    throw new CliError(`'${path}' is not a Sanctum identity file: make one with 'sanctum keygen --out FILE' and pass it with --identity`, { cause });
  }
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw new CliError(`identity file '${path}' may be read by other users (mode ${mode.toString(8).padStart(4, "0")}): anyone who reads it can act as you; run 'chmod 600 ${path}' (and consider the key compromised if others had access)`);
  }
  return identity;
}

/** Reads the identity, creating it (mode 0600, directory 0700) when the file does not exist. */
export async function loadOrCreateIdentity(path: string): Promise<{ identity: Identity; created: boolean }> {
  try {
    return { identity: await readIdentity(path), created: false };
  } catch (err) {
    if (!(err instanceof CliError) || (err.cause as NodeJS.ErrnoException | undefined)?.code !== "ENOENT") throw err;
  }
  const identity = generateIdentity();
  await writeIdentity(path, identity, { force: false });
  return { identity, created: true };
}

/**
 * Writes an identity file with mode 0600. Without `force` an existing file is never
 * replaced (it may be the only key to models and datasets); with it, the file is replaced
 * atomically.
 */
export async function writeIdentity(path: string, identity: Identity, options: { force: boolean }): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const text = encodeIdentityFile(identity);
  try {
    if (!options.force) {
      await writeFile(path, text, { mode: 0o600, flag: "wx" });
      return;
    }
    const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(temp, text, { mode: 0o600, flag: "wx" });
    // A failed rename (the path is a directory, say) must not leave a second copy of the key.
    await rename(temp, path).catch(async (err: unknown) => {
      await rm(temp, { force: true });
      throw err;
    });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "EEXIST") {
      throw new CliError(
        `identity file '${path}' already exists: pass --force to replace it (the old key loses access to everything it owns), or choose another file with --out`,
        { cause },
      );
    }
    throw new CliError(`cannot write identity file '${path}': ${(cause as NodeJS.ErrnoException).code ?? "error"}`, { cause });
  }
}
