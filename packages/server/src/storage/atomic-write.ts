import { promises as fs } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";

/** Suffix of temporary files; a crashed write leaves one behind, removed at next start. */
export const TEMP_SUFFIX = ".tmp";

/**
 * Writes a file so that readers see either nothing or all of it, even across a crash:
 * temp file in the same folder, fsync, rename over the target, fsync the folder (so the
 * rename itself is durable, see rename(2) and fsync(2) on directory entries).
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
  const handle = await fs.open(temp, "wx", 0o600);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, path);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

/** fsync a directory so entries created, renamed or removed in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes temp files a crash left in `dir`; returns how many. */
export async function removeStaleTempFiles(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await fs.readdir(dir)) {
    if (name.endsWith(TEMP_SUFFIX)) {
      await fs.rm(join(dir, name), { force: true });
      removed++;
    }
  }
  return removed;
}
