import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { AttestationError } from "../attestation-error.js";
import type { TsmFileSystem } from "./tsm-file-system.js";

/** Where Linux (6.7+) exposes configfs-tsm reports. */
export const DEFAULT_CONFIGFS_TSM_ROOT = "/sys/kernel/config/tsm/report";

/** What one configfs-tsm report entry gave back. */
export interface TsmReport {
  /** The SNP report, or the whole TDX quote. */
  readonly outblob: Uint8Array;
  /** SNP: the GHCB certificate table (may be empty); TDX: absent. */
  readonly auxblob?: Uint8Array;
  /** "sev_guest", "tdx_guest", ... */
  readonly provider: string;
  readonly generation: number;
}

export interface CollectTsmReportOptions {
  readonly root: string;
  readonly fs: TsmFileSystem;
  /** The 64 bytes to bind. */
  readonly inblob: Uint8Array;
  /** Attempts when another writer changes the entry meanwhile; default 3. */
  readonly maxAttempts?: number;
}

/**
 * Collects one report through configfs-tsm (Documentation/ABI/testing/configfs-tsm): make a
 * private entry, write `inblob`, read `outblob`, `auxblob` and `provider`, and check
 * `generation` (it counts writes to the entry) before and after the reads: anything but our
 * single write means someone else wrote to the entry and the blobs may not be ours, so the
 * exchange is retried in a new entry. Entries are always removed afterwards.
 */
export async function collectTsmReport(options: CollectTsmReportOptions): Promise<TsmReport> {
  const { root, fs, inblob } = options;
  const maxAttempts = options.maxAttempts ?? 3;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    // A fresh entry per attempt: once another writer touched one, its count can never be ours again.
    const entry = join(root, `sanctum-${process.pid}-${randomBytes(6).toString("hex")}`);
    try {
      await fs.mkdir(entry);
    } catch (cause) {
      throw new AttestationError(
        "collection-failed",
        `cannot create a configfs-tsm report entry under ${root} (${errno(cause)}): the server needs write access to it (run it as root or grant access to configfs)`,
        { cause },
      );
    }
    try {
      await step(() => fs.writeFile(join(entry, "inblob"), inblob), "write inblob");
      const before = await readGeneration(fs, entry);
      const outblob = await step(() => fs.readFile(join(entry, "outblob")), "read outblob");
      const auxblob = await readOptional(fs, join(entry, "auxblob"));
      const provider = Buffer.from(await step(() => fs.readFile(join(entry, "provider")), "read provider")).toString("utf8").trim();
      const after = await readGeneration(fs, entry);
      // We wrote the entry exactly once; any other count means another writer.
      if (before === 1 && after === 1) return { outblob, ...(auxblob === undefined ? {} : { auxblob }), provider, generation: after };
    } finally {
      await fs.rmdir(entry).catch(() => undefined);
    }
  }
  throw new AttestationError("collection-failed", `configfs-tsm report entries changed while they were read, ${maxAttempts} times: another process is writing to ${root}`);
}

/** The provider of configfs-tsm ("sev_guest", "tdx_guest"), without generating a report. */
export async function readTsmProvider(root: string, fs: TsmFileSystem): Promise<string> {
  const entry = join(root, `sanctum-probe-${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    await fs.mkdir(entry);
  } catch (cause) {
    throw new AttestationError("platform-unavailable", `configfs-tsm is present at ${root} but a report entry cannot be created (${errno(cause)}): run the server as root or grant access`, { cause });
  }
  try {
    return Buffer.from(await step(() => fs.readFile(join(entry, "provider")), "read provider")).toString("utf8").trim();
  } finally {
    await fs.rmdir(entry).catch(() => undefined);
  }
}

async function readGeneration(fs: TsmFileSystem, entry: string): Promise<number> {
  const text = Buffer.from(await step(() => fs.readFile(join(entry, "generation")), "read generation")).toString("utf8").trim();
  if (!/^\d+$/.test(text)) throw new AttestationError("collection-failed", "configfs-tsm 'generation' is not a number");
  return Number(text);
}

async function readOptional(fs: TsmFileSystem, path: string): Promise<Uint8Array | undefined> {
  try {
    return await fs.readFile(path);
  } catch (cause) {
    // TDX has no auxblob, and older kernels do not have the attribute.
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTTY" || code === "EOPNOTSUPP") return undefined;
    throw new AttestationError("collection-failed", `configfs-tsm: cannot read auxblob (${errno(cause)})`, { cause });
  }
}

async function step<T>(work: () => Promise<T>, what: string): Promise<T> {
  try {
    return await work();
  } catch (cause) {
    if (cause instanceof AttestationError) throw cause;
    throw new AttestationError("collection-failed", `configfs-tsm: cannot ${what} (${errno(cause)}); the TEE driver refused the request`, { cause });
  }
}

function errno(cause: unknown): string {
  return (cause as NodeJS.ErrnoException | undefined)?.code ?? "error";
}
