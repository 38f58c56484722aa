import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { acquireDataDirLock } from "./data-dir-lock.js";

describe("data dir lock", () => {
  for (const stale of [false, true]) {
    it(`exactly one of many simultaneous starts takes the dir${stale ? " from a stale lock" : ""}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "sanctum-lock-"));
      try {
        if (stale) writeFileSync(join(dir, "sanctum.lock"), "999999999\n");
        const tries = await Promise.allSettled(Array.from({ length: 24 }, () => acquireDataDirLock(dir)));
        const won = tries.filter((t) => t.status === "fulfilled");
        assert.equal(won.length, 1, `${won.length} starts took the lock`);
        for (const t of tries) if (t.status === "rejected") assert.equal((t.reason as { code?: string }).code, "data-dir-in-use");
        const lock = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireDataDirLock>>>).value;
        assert.equal(readFileSync(join(dir, "sanctum.lock"), "utf8"), `${process.pid}\n`, "the holder's pid, to name it when refusing");
        await assert.rejects(acquireDataDirLock(dir), (e: { message: string }) => new RegExp(`in use by another Sanctum server \\(pid ${process.pid}\\)`).test(e.message));
        await lock.release();
        assert.ok(!readdirSync(dir).includes("sanctum.lock"));
        const next = await acquireDataDirLock(dir);
        await next.release();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("is released by the OS when its holder dies: a killed server's dir is free at once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sanctum-lock-"));
    try {
      const lockModule = new URL("./data-dir-lock.js", import.meta.url).href;
      // A child takes the lock, says so, and is killed with SIGKILL (no cleanup runs).
      const child = spawn(process.execPath, ["--input-type=module", "-e", `const { acquireDataDirLock } = await import(${JSON.stringify(lockModule)}); await acquireDataDirLock(${JSON.stringify(dir)}); console.log("held"); setInterval(() => {}, 1000);`], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise<void>((ok) => child.stdout.once("data", () => ok()));
      await assert.rejects(acquireDataDirLock(dir), (e: { message: string }) => new RegExp(`pid ${child.pid}`).test(e.message));
      child.kill("SIGKILL");
      await new Promise((ok) => child.once("exit", ok));
      const lock = await acquireDataDirLock(dir);
      await lock.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
