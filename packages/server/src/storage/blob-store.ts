import { promises as fs } from "node:fs";
import { join } from "node:path";
import { ServerError } from "../server-error.js";
import { removeStaleTempFiles, writeFileAtomic, fsyncDir } from "./atomic-write.js";
import { blobAad, deriveBlobKey, seal, unseal } from "./seal.js";

/** What a blob holds; part of its associated data, so kinds cannot be swapped. */
export type BlobKind = "model" | "dataset" | "weights";

/**
 * Sealed files under one folder, one file per blob, named by id. Plaintext exists only in
 * memory: `put` seals before the first byte is written, `get` unseals after reading.
 */
export interface BlobStore {
  put(kind: BlobKind, id: string, plaintext: Uint8Array): Promise<void>;
  get(kind: BlobKind, id: string): Promise<Buffer>;
  delete(kind: BlobKind, id: string): Promise<void>;
  has(kind: BlobKind, id: string): Promise<boolean>;
  /** Ids of the stored blobs of one kind. */
  ids(kind: BlobKind): Promise<string[]>;
}

/** Options of {@link createBlobStore}. */
export interface BlobStoreOptions {
  /** Folder of the sealed files (created with mode 0700 if missing). */
  readonly dir: string;
  /** The 32-byte root sealing key (see SealingKeyProvider). */
  readonly rootKey: Uint8Array;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** Opens the blob folder, removing temp files a crash may have left. */
export async function createBlobStore(options: BlobStoreOptions): Promise<BlobStore> {
  await fs.mkdir(options.dir, { recursive: true, mode: 0o700 });
  await removeStaleTempFiles(options.dir);
  const key = deriveBlobKey(options.rootKey);
  const pathOf = (kind: BlobKind, id: string) => {
    if (!ID_PATTERN.test(id)) throw new ServerError("internal", "blob id must match [A-Za-z0-9_-]{1,128}");
    return join(options.dir, `${kind}-${id}.sealed`);
  };
  return {
    async put(kind, id, plaintext) {
      await writeFileAtomic(pathOf(kind, id), seal(key, blobAad(kind, id), plaintext));
    },
    async get(kind, id) {
      let sealed: Buffer;
      try {
        sealed = await fs.readFile(pathOf(kind, id));
      } catch (cause) {
        throw new ServerError("storage-corrupt", `sealed ${kind} ${id} is missing from the data dir: restore it from backup`, { cause });
      }
      return unseal(key, blobAad(kind, id), sealed);
    },
    async delete(kind, id) {
      await fs.rm(pathOf(kind, id), { force: true });
      await fsyncDir(options.dir);
    },
    async ids(kind) {
      const prefix = `${kind}-`;
      return (await fs.readdir(options.dir))
        .filter((name) => name.startsWith(prefix) && name.endsWith(".sealed"))
        .map((name) => name.slice(prefix.length, -".sealed".length));
    },
    async has(kind, id) {
      try {
        await fs.access(pathOf(kind, id));
        return true;
      } catch {
        return false;
      }
    },
  };
}
