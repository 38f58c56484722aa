import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { encodeEvidenceBundle } from "@sanctum/attestation";

const BIN = fileURLToPath(new URL("../../bin/sanctum.js", import.meta.url));
const F = fileURLToPath(new URL("../../../attestation/fixtures/", import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, "verify-evidence", ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr });
    });
  });
}

const SNP = [`${F}sev-snp/aws-vlek-report.bin`, "--platform", "sev-snp", "--certs", `${F}sev-snp/aws-vlek.der`, "--certs", `${F}sev-snp/ask_ark_milan_vlek.pem`];
const TDX = [`${F}tdx/tdx-quote-v4.bin`, "--platform", "tdx", "--collateral", `${F}tdx/tdx-quote-v4-collateral.json`];

describe("sanctum verify-evidence", () => {
  it("verifies a raw SEV-SNP report with its certificates and prints the contract's JSON", async () => {
    const { code, stdout } = await run([...SNP, "--at", "2025-06-01T00:00:00Z", "--json"]);
    assert.equal(code, 0);
    const json = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ["verified", "platform", "measurement", "reportData", "tcb", "status", "problems"]);
    assert.equal(json["verified"], true);
    assert.equal(json["measurement"], "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0");
  });

  it("verifies a raw TDX quote with collateral, and fails after the collateral expires", async () => {
    const ok = await run([...TDX, "--at", "2025-07-01T00:00:00Z", "--json"]);
    assert.equal(ok.code, 0);
    const json = JSON.parse(ok.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ["verified", "platform", "mrtd", "rtmrs", "reportData", "tcb", "status", "problems"]);
    assert.equal(json["status"], "UpToDate");
    const late = await run([...TDX, "--at", "2025-08-01T00:00:00Z", "--json"]);
    assert.equal(late.code, 1);
    const problems = (JSON.parse(late.stdout) as { problems: { code: string }[] }).problems;
    assert.ok(problems.length > 0 && problems.every((p) => p.code === "collateral-expired"));
  });

  it("checks --report-data and --policy", async () => {
    const wrong = await run([...SNP, "--at", "2025-06-01T00:00:00Z", "--report-data", "00", "--json"]);
    assert.equal(wrong.code, 1);
    assert.deepEqual((JSON.parse(wrong.stdout) as { problems: { code: string }[] }).problems.map((p) => p.code), ["report-data"]);
    const dir = await mkdtemp(join(tmpdir(), "sanctum-verify-"));
    try {
      await writeFile(join(dir, "policy.json"), JSON.stringify({ platforms: ["tdx"], tdx: { mrtd: ["00".repeat(48)] } }));
      const refused = await run([...TDX, "--at", "2025-07-01T00:00:00Z", "--policy", join(dir, "policy.json"), "--json"]);
      assert.equal(refused.code, 1);
      assert.deepEqual((JSON.parse(refused.stdout) as { problems: { code: string }[] }).problems.map((p) => p.code), ["mrtd"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("accepts a saved bundle and checks its binding", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sanctum-verify-"));
    try {
      const bundle = encodeEvidenceBundle({
        platform: "tdx",
        report: new Uint8Array(await readFile(`${F}tdx/tdx-quote-v4.bin`)),
        certificates: [],
        collateral: await readFile(`${F}tdx/tdx-quote-v4-collateral.json`, "utf8"),
        serverVersion: "0.1.0",
        configDigest: "00",
        binding: { spki: new Uint8Array(44), nonce: new Uint8Array(32) },
      });
      await writeFile(join(dir, "evidence.json"), bundle);
      const result = await run([join(dir, "evidence.json"), "--at", "2025-07-01T00:00:00Z", "--json"]);
      assert.equal(result.code, 1);
      assert.deepEqual((JSON.parse(result.stdout) as { problems: { code: string }[] }).problems.map((p) => p.code), ["report-data"]);
      const mismatch = await run([join(dir, "evidence.json"), "--platform", "sev-snp"]);
      assert.equal(mismatch.code, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses raw evidence without --platform and a bad --at, with usage errors", async () => {
    const noPlatform = await run([`${F}tdx/tdx-quote-v4.bin`]);
    assert.equal(noPlatform.code, 2);
    assert.match(noPlatform.stderr, /--platform/);
    const badAt = await run([...TDX, "--at", "yesterday"]);
    assert.equal(badAt.code, 2);
  });
});
