import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/sanctum.js", import.meta.url));

describe("sanctum server", () => {
  it("prints the URL it listens on, serves TLS there, and stops cleanly on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sanctum-cli-server-"));
    try {
      const child = spawn(process.execPath, [BIN, "server", "--platform", "simulation", "--port", "0", "--data-dir", join(dir, "data")], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /^listening on (https:\/\/127\.0\.0\.1:(\d+))\n/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once("exit", (code) => reject(new Error(`server exited early with ${code}: ${stderr}`)));
      });
      const port = Number(new URL(url).port);
      assert.ok(port > 0);
      const alpn = await new Promise<string | false>((resolve, reject) => {
        const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, ALPNProtocols: ["h2"] }, () => {
          resolve(socket.alpnProtocol ?? false);
          socket.destroy();
        });
        socket.once("error", reject);
      });
      assert.equal(alpn, "h2");
      assert.equal(statSync(join(dir, "data", "sealing.key")).mode & 0o777, 0o600);
      const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      assert.equal(await exit, 0);
      assert.match(stderr, /simulation platform/);
      assert.match(stderr, /SIGTERM: stopping/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses bad flags with one error line and exit code 2", () => {
    for (const args of [["--port", "70000"], ["--max-model-bytes", "12x"], ["--max-request-bytes", "10"], ["--platform", "sgx"]]) {
      const r = spawnSync(process.execPath, [BIN, "server", ...args], { encoding: "utf8" });
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^error: ${args[0]} must be`));
      assert.equal(r.stderr.trim().split("\n").length, 1);
    }
  });
});
