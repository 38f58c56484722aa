import { promises as fs } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { ServerError } from "../server-error.js";

/** Held while a server uses a data dir. */
export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Makes sure one server at a time uses a data dir. Two servers on one dir would interleave
 * audit chains (each keeps the head in memory) and race on names.
 *
 * The lock is an exclusive transaction held open on `sanctum.lock.db`: SQLite takes it with
 * the OS's file locks, so it is atomic across processes (and across connections of one), and
 * the OS drops it when the holder exits or is killed, so no stale lock ever needs taking
 * over (pid files cannot give both: a starting server may read one half-written, and two
 * servers may both judge the same one stale). `sanctum.lock` holds the holder's pid, only to
 * name it when refusing.
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const pidPath = join(dataDir, "sanctum.lock");
  const db = new Database(join(dataDir, "sanctum.lock.db"), { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== "SQLITE_BUSY") throw err;
    const pid = Number((await fs.readFile(pidPath, "utf8").catch(() => "")).trim());
    throw new ServerError(
      "data-dir-in-use",
      `data dir ${dataDir} is in use by another Sanctum server${Number.isInteger(pid) && pid > 0 ? ` (pid ${pid})` : ""}: stop it, or give this one another --data-dir`,
    );
  }
  try {
    await fs.writeFile(pidPath, `${process.pid}\n`, { mode: 0o600 });
  } catch (err) {
    db.close();
    throw err;
  }
  let held = true;
  return {
    async release() {
      if (!held) return;
      held = false;
      await fs.rm(pidPath, { force: true });
      db.close();
    },
  };
}
