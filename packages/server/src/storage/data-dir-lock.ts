import { promises as fs } from "node:fs";
import { join } from "node:path";
import { ServerError } from "../server-error.js";

/** Held while a server uses a data dir. */
export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Makes sure one server at a time uses a data dir: a lock file `sanctum.lock` holding the pid,
 * created exclusively. Two servers on one dir would interleave audit chains (each keeps the
 * head in memory) and race on names. A lock left by a process that no longer runs is taken
 * over; a live one (including this process) is refused with what to do.
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, "sanctum.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return {
        async release() {
          const holder = await fs.readFile(path, "utf8").catch(() => "");
          if (holder.trim() === String(process.pid)) await fs.rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = Number((await fs.readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) {
      throw new ServerError(
        "data-dir-in-use",
        `data dir ${dataDir} is in use by another Sanctum server (pid ${pid}): stop it, or give this one another --data-dir`,
      );
    }
    await fs.rm(path, { force: true }); // stale: its process is gone
  }
  throw new ServerError("data-dir-in-use", `data dir ${dataDir}: could not take its lock file ${path}; remove it if no server runs`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
