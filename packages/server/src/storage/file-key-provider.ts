import { constants, promises as fs } from "node:fs";
import { randomBytes } from "node:crypto";
import { ServerError } from "../server-error.js";
import type { SealingKeyProvider } from "./sealing-key-provider.js";

/** Bytes of a root sealing key (AES-256). */
export const SEALING_KEY_BYTES = 32;

/**
 * The simulation key provider: 32 random bytes in a file with mode 0600, made on first start.
 * It refuses a file that group or others may read or write (like ssh refuses a private key),
 * and a file of the wrong size. Whoever can read the data disk can unseal: development only.
 */
export function createFileKeyProvider(options: { readonly path: string }): SealingKeyProvider {
  return {
    kind: "key-file",
    insecure: true,
    async getRootKey() {
      let handle: fs.FileHandle;
      try {
        // O_EXCL: never overwrite a key that appeared meanwhile; mode applies before any byte lands.
        handle = await fs.open(options.path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
        try {
          await handle.writeFile(randomBytes(SEALING_KEY_BYTES));
          await handle.sync();
        } finally {
          await handle.close();
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
          throw new ServerError("sealing-key", `cannot create the sealing key file ${options.path}: check the data dir is writable`, { cause: err });
        }
      }
      const stat = await fs.stat(options.path);
      if ((stat.mode & 0o077) !== 0) {
        throw new ServerError(
          "sealing-key",
          `sealing key file ${options.path} has mode ${(stat.mode & 0o777).toString(8)}: it must be readable by its owner only (chmod 600 ${options.path})`,
        );
      }
      const key = await fs.readFile(options.path);
      if (key.length !== SEALING_KEY_BYTES) {
        throw new ServerError(
          "sealing-key",
          `sealing key file ${options.path} holds ${key.length} bytes, expected ${SEALING_KEY_BYTES}: restore it from backup (without it the sealed data is lost)`,
        );
      }
      return new Uint8Array(key);
    },
  };
}
